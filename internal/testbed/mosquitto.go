package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// MosquittoOptions adds to the test broker's config.
type MosquittoOptions struct {
	// Port to listen on; 0 picks a free one. Reuse a port to restart a
	// broker in the same place.
	Port int
	// Extra lines appended to mosquitto.conf (a TLS listener, say).
	Extra []string
	// Persistence keeps sessions and queued messages across a restart.
	Persistence bool
}

// Mosquitto starts a Mosquitto broker on 127.0.0.1 with the settings that
// make it fast and lossless under load (see TESTBED.md), and returns it.
// Addr is host:port; URL is tcp://host:port.
func Mosquitto(t testing.TB, opts MosquittoOptions) *Broker {
	t.Helper()
	bin := Need(t, "mosquitto")
	port := opts.Port
	if port == 0 {
		port = FreePort(t)
	}
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o777) // mosquitto drops to its own user when run as root
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"set_tcp_nodelay true",
		"max_queued_messages 1000000",
		"max_inflight_messages 0",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"per_listener_settings false",
	}
	if opts.Persistence {
		lines = append(lines, "persistence true", "persistence_location "+dir+"/", "autosave_interval 1")
	} else {
		lines = append(lines, "persistence false")
	}
	lines = append(lines, opts.Extra...)
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, bin: bin, conf: conf, port: port}
	b.start()
	return b
}

// Broker is a running (or stopped) test Mosquitto.
type Broker struct {
	*Process
	t    testing.TB
	bin  string
	conf string
	port int
}

// URL returns tcp://127.0.0.1:PORT.
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.port) }

// Restart starts the broker again on the same port after Stop or Kill.
func (b *Broker) Restart() {
	b.t.Helper()
	b.start()
}

func (b *Broker) start() {
	addr := fmt.Sprintf("127.0.0.1:%d", b.port)
	b.Process = Start(b.t, b.port, DialReady(addr), 10*time.Second, b.bin, "-c", b.conf)
}
