package gateway_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
	"github.com/jusha-ean/edge/web"
)

func polls(devs []web.DeviceStatus, id string) uint64 {
	for _, d := range devs {
		if d.ID == id {
			return d.Polls
		}
	}
	return 0
}

// A reload restarts the polling of a changed device only, and a device
// added by the reload is polled and watched by the rules.
func TestReloadRestartsOnlyChangedLinks(t *testing.T) {
	r := newRig(t, rigOptions{kinds: []string{configs.KindDoor, configs.KindGate}})
	r.start()
	r.waitStarted()
	time.Sleep(500 * time.Millisecond)
	before := r.gw.Devices()
	doorBefore, gateBefore := polls(before, doorID), polls(before, gateID)
	if doorBefore == 0 || gateBefore == 0 {
		t.Fatalf("no polls before the reload: %+v", before)
	}

	// The gate polls at a new interval; the door is untouched.
	raw, err := os.ReadFile(r.cfg.File)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, "  - id: "+gateID)
	changed := text[:i] + strings.Replace(text[i:], "poll: 50ms", "poll: 80ms", 1)
	if err := os.WriteFile(r.cfg.File, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	next, err := configs.Load(r.cfg.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.gw.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	after := r.gw.Devices()
	if got := polls(after, doorID); got < doorBefore {
		t.Errorf("door polls went from %d to %d: its link was restarted", doorBefore, got)
	}
	if got := polls(after, gateID); got >= gateBefore {
		t.Errorf("gate polls went from %d to %d: its link was not restarted", gateBefore, got)
	}

	// Dropping the gate and adding a second door on the gate's address
	// rebuilds the rules: the new door is watched.
	doorYAML := strings.Replace(changed[i:], "id: "+gateID, "id: door-b2", 1)
	doorYAML = strings.Replace(doorYAML, "kind: gate", "kind: door", 1)
	if err := os.WriteFile(r.cfg.File, []byte(changed[:i]+doorYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if next, err = configs.Load(r.cfg.File); err != nil {
		t.Fatal(err)
	}
	if err := r.gw.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if polls(r.gw.Devices(), "door-b2") == 0 {
		t.Fatalf("door-b2 not polled after the reload: %+v", r.gw.Devices())
	}
	// The door simulator on the lobby address still raises through the
	// rebuilt engine.
	n := len(r.plat.Events())
	if err := r.door.Force(); err != nil {
		t.Fatal(err)
	}
	r.waitAfter(n, 10*time.Second, "door.forced_open", events.Raised, doorID)
}
