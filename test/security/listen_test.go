package security

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/gateway"
	"github.com/jusha-ean/edge/web"
)

// socket is one socket of this process from /proc/net/{tcp,tcp6,udp,udp6}.
type socket struct {
	proto, local string
	loopback     bool
	listening    bool // TCP LISTEN, or an unconnected UDP socket
	inode        string
}

// ownSockets returns the sockets open in this process, keyed by inode.
func ownSockets(t *testing.T) map[string]socket {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	out := map[string]socket{}
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		f, err := os.Open("/proc/net/" + proto)
		if err != nil {
			if proto == "tcp6" || proto == "udp6" {
				continue // IPv6 disabled
			}
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !mine[fields[9]] {
				continue
			}
			local, remote, state := fields[1], fields[2], fields[3]
			s := socket{proto: proto, local: decodeAddr(t, local), inode: fields[9]}
			s.loopback = isLoopbackHex(local)
			if strings.HasPrefix(proto, "tcp") {
				s.listening = state == "0A"
			} else {
				s.listening = strings.Trim(strings.Split(remote, ":")[0], "0") == ""
			}
			out[s.inode] = s
		}
		_ = f.Close()
	}
	return out
}

// isLoopbackHex reports whether a /proc/net address ("0100007F:1F90" or
// the 32-hex-digit IPv6 form) is in 127.0.0.0/8 or is ::1.
func isLoopbackHex(addr string) bool {
	ip := strings.Split(addr, ":")[0]
	switch len(ip) {
	case 8: // little-endian IPv4: the first octet is the last byte
		return strings.HasSuffix(ip, "7F")
	case 32:
		return ip == "00000000000000000000000001000000" || // ::1
			strings.HasPrefix(ip, "0000000000000000FFFF0000") && strings.HasSuffix(ip, "7F") // ::ffff:127.x
	}
	return false
}

func decodeAddr(t *testing.T, addr string) string {
	t.Helper()
	parts := strings.Split(addr, ":")
	port, err := strconv.ParseUint(parts[1], 16, 16)
	if err != nil {
		t.Fatalf("bad /proc/net address %q", addr)
	}
	return fmt.Sprintf("%s:%d", parts[0], port)
}

// A whole gateway (poller, outbox, uplink, web server) listens only on
// loopback when http.listen says 127.0.0.1: every listening socket of this
// process, the gateway's and the simulators', is on 127.0.0.1 or ::1, and
// the gateway opened at least its HTTP listener.
func TestGatewayListensOnLoopbackOnly(t *testing.T) {
	s := newSite(t, siteOptions{token: true})
	before := ownSockets(t)
	s.start()
	addr := s.gw.HTTPAddr(10 * time.Second)
	if addr == "" {
		t.Fatal("the gateway's HTTP server did not start")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	after := ownSockets(t)
	added := 0
	for inode, sk := range after {
		if !sk.listening {
			continue
		}
		if !sk.loopback {
			t.Errorf("%s socket listening on %s (inode %s), not loopback", sk.proto, sk.local, inode)
		}
		if _, old := before[inode]; !old {
			added++
		}
	}
	if added == 0 {
		t.Fatalf("found no listener of the gateway among %d sockets: the check saw nothing", len(after))
	}
}

// http.listen beyond loopback is refused without a token, by the web
// server's rule and by gateway.New, before anything listens.
func TestListenBeyondLoopbackNeedsToken(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		loopback bool
	}{
		{"127.0.0.1:8080", true}, {"127.0.0.2:8080", true}, {"[::1]:8080", true}, {"localhost:8080", true},
		{"0.0.0.0:8080", false}, {":8080", false}, {"[::]:8080", false}, {"192.168.1.20:8080", false},
		{"gateway.local:8080", false}, {"10.0.0.1:80", false},
	} {
		err := web.CheckListen(tc.addr, false)
		if tc.loopback != (err == nil) {
			t.Errorf("CheckListen(%q, no token) = %v", tc.addr, err)
		}
		if !tc.loopback && !errors.Is(err, web.ErrTokenRequired) {
			t.Errorf("CheckListen(%q): %v does not wrap ErrTokenRequired", tc.addr, err)
		}
		if err := web.CheckListen(tc.addr, true); err != nil {
			t.Errorf("CheckListen(%q, token) = %v", tc.addr, err)
		}
	}
}

// gateway.New refuses http.listen beyond loopback without a token, with an
// error naming the address, and nothing listens.
func TestGatewayRefusesListenBeyondLoopbackWithoutToken(t *testing.T) {
	s := newSite(t, siteOptions{listen: "0.0.0.0:0"})
	err := newGateway(t, s.cfg)
	if !errors.Is(err, web.ErrTokenRequired) || !strings.Contains(err.Error(), "0.0.0.0:0") {
		t.Fatalf("gateway.New with http.listen 0.0.0.0:0 and no token: %v", err)
	}
}

// newGateway calls gateway.New, which must refuse the config and return
// its error (a panic fails the test).
func newGateway(t *testing.T, cfg *configs.Config) error {
	t.Helper()
	g, err := gateway.New(cfg, gateway.Options{})
	if err == nil {
		t.Fatalf("gateway.New accepted the config (%v)", g)
	}
	return err
}

// Beyond loopback, the read-only pages with live device state need the
// token too (the health checks stay open). Served without a socket.
func TestPagesBeyondLoopbackNeedToken(t *testing.T) {
	cfg := &configs.Config{Site: "wannan", Gateway: "gw-sec"}
	cfg.HTTP.Listen = "0.0.0.0:8080"
	srv, err := web.New(web.Options{Config: cfg, Token: apiToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer wrong", http.StatusUnauthorized},
		{"/metrics", "Bearer " + apiToken, http.StatusOK},
		{"/api/v1/devices", "", http.StatusUnauthorized},
		{"/healthz", "", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if w.Code != tc.want && !(tc.want == http.StatusOK && w.Code == http.StatusServiceUnavailable) {
			t.Errorf("GET %s with %q: %d, want %d", tc.path, tc.auth, w.Code, tc.want)
		}
	}
}
