package security

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/internal/platform"
)

// post sends an access request to the gateway's local API.
func post(t *testing.T, addr, auth string) (int, []byte) {
	t.Helper()
	body := `{"device":"` + doorID + `","type":"qr","value":"` + riderQR + `"}`
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/access", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	// No keep-alive: an idle connection would hold the server's shutdown.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// apiDecisions counts the access decisions the platform received that came
// through the local API.
func apiDecisions(p *platform.Platform) int {
	n := 0
	for _, e := range p.Events() {
		if strings.HasPrefix(e.Event.Type, "access.") && e.Event.Data["via"] == "api" {
			n++
		}
	}
	return n
}

// Someone on the site LAN who reaches the local API cannot open a door
// through it without the bearer token: every write without the exact token
// is 401, decides nothing and unlocks nothing; with the token it works.
func TestLocalAPIWritesNeedToken(t *testing.T) {
	s := newSite(t, siteOptions{token: true})
	s.start()
	n := len(s.plat.Events())
	s.command("whitelist", signed(t, s.signer, signerID, s.snapshot(3)))
	s.waitEvent(n, "whitelist.applied", nil)
	addr := s.gw.HTTPAddr(10 * time.Second)
	for _, auth := range []string{
		"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + apiToken[:len(apiToken)-1], "Bearer " + apiToken + "x",
		"bearer" + apiToken, "Token " + apiToken, "Basic " + apiToken, apiToken,
	} {
		code, body := post(t, addr, auth)
		if code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d %s, want 401", auth, code, body)
		}
	}
	s.lockedFor(300*time.Millisecond, "API calls without the token")
	if got := apiDecisions(s.plat); got != 0 {
		t.Fatalf("%d access decisions from refused API calls", got)
	}
	code, body := post(t, addr, "Bearer "+apiToken)
	var resp struct {
		Granted bool   `json:"granted"`
		EventID string `json:"event_id"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &resp) != nil || !resp.Granted || resp.EventID == "" {
		t.Fatalf("with the token: %d %s", code, body)
	}
	s.unlocked("API grant with the token")
	if bytes.Contains(body, []byte(riderQR)) {
		t.Errorf("the answer echoes the credential: %s", body)
	}
}

// Without http.token_file the local API refuses every write.
func TestLocalAPIWithoutTokenFileRefusesAll(t *testing.T) {
	s := newSite(t, siteOptions{})
	s.start()
	addr := s.gw.HTTPAddr(10 * time.Second)
	for _, auth := range []string{"", "Bearer ", "Bearer " + apiToken} {
		if code, body := post(t, addr, auth); code != http.StatusUnauthorized {
			t.Errorf("Authorization %q with no token configured: %d %s, want 401", auth, code, body)
		}
	}
}

// secretName matches identifiers that hold a secret compared on a request.
var secretName = regexp.MustCompile(`(?i)token|password|secret|passwd`)

// Every comparison of a token or password in the code that serves requests
// goes through crypto/subtle: no ==, !=, bytes.Equal or strings.EqualFold
// on a secret (their time depends on how much of it matched), and the two
// token checks call subtle.ConstantTimeCompare.
func TestSecretsComparedInConstantTime(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	calls := map[string]bool{}
	for _, dir := range []string{"access", "web", "gateway", "sync/uplink", "cmd/edge"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, file, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			expr := func(e ast.Expr) string {
				return string(src[fset.Position(e.Pos()).Offset:fset.Position(e.End()).Offset])
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.BinaryExpr:
					if x.Op != token.EQL && x.Op != token.NEQ {
						return true
					}
					l, r := expr(x.X), expr(x.Y)
					if (secretName.MatchString(l) || secretName.MatchString(r)) && !trivial(l) && !trivial(r) {
						t.Errorf("%s: %s %s %s compares a secret in variable time", fset.Position(x.Pos()), l, x.Op, r)
					}
				case *ast.CallExpr:
					name := expr(x.Fun)
					if name == "subtle.ConstantTimeCompare" {
						calls[filepath.Base(file)] = true
					}
					if name == "bytes.Equal" || name == "strings.EqualFold" || name == "reflect.DeepEqual" {
						for _, a := range x.Args {
							if secretName.MatchString(expr(a)) {
								t.Errorf("%s: %s(%s) compares a secret in variable time", fset.Position(x.Pos()), name, expr(a))
							}
						}
					}
				}
				return true
			})
		}
	}
	for _, want := range []string{"api.go", "auth.go"} {
		if !calls[want] {
			t.Errorf("%s does not call subtle.ConstantTimeCompare (found in %v)", want, calls)
		}
	}
}

// trivial reports whether one side of a comparison is a constant that
// leaks nothing: "", nil, a number, or a length.
func trivial(e string) bool {
	return e == `""` || e == "nil" || e == "0" || strings.HasPrefix(e, "len(") ||
		regexp.MustCompile(`^[0-9]+$`).MatchString(e) || e == "1"
}
