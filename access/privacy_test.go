package access

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNoRawCredentialAnywhere runs a whole scenario (an update, reader
// reads, API calls, a remote open, the offline tools, a restart) and then
// greps every file under the state dir, the logs and the events for the
// raw credentials.
func TestNoRawCredentialAnywhere(t *testing.T) {
	const (
		card = "73921846"
		qr   = "QR-RIDER-SECRET-7731"
		pin  = "482913"
	)
	secrets := []string{card, qr, pin}
	f := newFixture(t, time.UTC)
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.store.log = log
	now := time.Now()
	f.apply(t, snapshot(1,
		Entry{ID: "rider-1", Label: "rider 138****1234", Credentials: []Credential{cred(TypeCard, card), cred(TypeQR, qr)},
			Doors: []string{door.ID}, Floors: map[string][]int{lift.ID: {2}}, MaxUsesPerDay: 10},
		Entry{ID: "rider-2", Credentials: []Credential{cred(TypePIN, pin)}, Doors: []string{door.ID}, Revoked: true},
	))
	out := &sink{}
	act := &fakeActuator{}
	c, err := NewController(f.store, testDevices, act, ControllerOptions{UnlockTime: time.Millisecond, Emit: out.emit, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	c.Observe(reading(door.ID, now, 1, 0))
	c.Observe(reading(door.ID, now, 2, 73921846))
	c.Observe(reading(door.ID, now, 3, 11111111))
	durable := &durableSink{}
	srv := httptest.NewServer(NewAPIHandler(c, "tok", durable.emit, log))
	for _, body := range []string{
		`{"device":"lift-a1","type":"qr","value":"` + qr + `"}`,
		`{"device":"door-a1-lobby","type":"pin","value":"` + pin + `"}`,
		`{"device":"door-a1-lobby","type":"pin","value":"` + pin + `"`, // malformed
		`{"device":"door-nope","type":"card","value":"` + card + `"}`,
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	srv.Close()
	if err := c.HandleOpen(t.Context(), f.signer.sign(t, OpenCommand{ID: "cmd-1", Device: door.ID, ExpiresAt: now.Add(time.Minute), By: "op"})); err != nil {
		t.Fatal(err)
	}
	waitWrites(t, act, 2)
	var tools bytes.Buffer
	if err := CheckCredential(&tools, f.store, door, TypeCard, card, now); err != nil {
		t.Fatal(err)
	}
	if err := ListWhitelist(&tools, f.store); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}

	var evJSON bytes.Buffer
	for _, ev := range append(out.take(), durable.evs...) {
		b, _ := json.Marshal(ev)
		evJSON.Write(b)
	}
	if evJSON.Len() == 0 || !strings.Contains(evJSON.String(), "rider-1") || f.logs.String() == "" {
		t.Fatalf("the scenario produced no events or logs: %s", evJSON.String())
	}
	places := map[string][]byte{"logs": []byte(f.logs.String()), "events": evJSON.Bytes(), "tool output": tools.Bytes()}
	files := 0
	err = filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		places[path] = b
		files++
		return err
	})
	if err != nil || files == 0 {
		t.Fatalf("walk state dir: %v (%d files)", err, files)
	}
	for where, b := range places {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("raw credential %q found in %s", s, where)
			}
		}
	}
}
