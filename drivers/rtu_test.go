package drivers

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/simonvetter/modbus"
)

func crc16(b []byte) uint16 {
	crc := uint16(0xffff)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// startRTUOverTCP serves RTU frames over TCP: holding register i of unit u
// holds u*100+i, and unit slow answers only after delay, when the client
// has given up and may already wait for the next device's answer.
func startRTUOverTCP(t *testing.T, slow byte, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				req := make([]byte, 8)
				for {
					if _, err := io.ReadFull(c, req); err != nil {
						return
					}
					unit, addr, qty := req[0], binary.BigEndian.Uint16(req[2:4]), binary.BigEndian.Uint16(req[4:6])
					out := []byte{unit, req[1], byte(2 * qty)}
					for i := range qty {
						out = binary.BigEndian.AppendUint16(out, uint16(unit)*100+addr+i)
					}
					out = binary.LittleEndian.AppendUint16(out, crc16(out))
					if unit == slow {
						time.Sleep(delay)
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestRTULateAnswer: unit 7 answers after the timeout. The link stays quiet,
// then reopens, so its late answer is never taken for unit 1's: unit 1 never
// fails and never reads unit 7's values.
func TestRTULateAnswer(t *testing.T) {
	addr := startRTUOverTCP(t, 7, 150*time.Millisecond)
	url := "rtuovertcp://" + addr + "?baud=115200"
	fast := testDevice("gate-1", url, 1, oneRegister)
	late := testDevice("gate-7", url, 7, oneRegister)
	for _, d := range []*configs.Device{&fast, &late} {
		d.Modbus.Timeout = configs.Duration(100 * time.Millisecond)
	}
	m, err := NewManager([]configs.Device{fast, late}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	fails := 0
	rec.waitFor(t, "gate-7 offline", func(r Reading) bool {
		if r.Device == "gate-7" && r.Err != nil {
			fails++
		}
		return fails >= 3 && !r.Online
	})
	good := 0
	rec.waitFor(t, "gate-1 after", func(r Reading) bool {
		if r.Device == "gate-1" {
			good++
		}
		return good >= 5
	})
	stop()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.all {
		if r.Device != "gate-1" {
			continue
		}
		if r.Err != nil || r.Num("fault_code") != 107 {
			t.Fatalf("gate-1 reading: value %v, err %v; want 107 and no error", r.Num("fault_code"), r.Err)
		}
	}
}

func TestParseLinkURL(t *testing.T) {
	tests := []struct {
		url     string
		key     string
		speed   uint
		parity  uint
		stop    uint
		serial  bool
		wantErr bool
	}{
		{url: "tcp://10.0.0.1:502", key: "tcp://10.0.0.1:502"},
		{url: "tcp://10.0.0.1", key: "tcp://10.0.0.1:502"},
		{url: "rtu:///dev/ttyUSB0?baud=9600&parity=N", key: "rtu:///dev/ttyUSB0", speed: 9600, stop: 1, serial: true},
		{url: "rtu:///dev/ttyUSB0", key: "rtu:///dev/ttyUSB0", speed: 9600, stop: 1, serial: true},
		{url: "rtu:///dev/ttyS1?baud=19200&parity=E&stop_bits=1&data_bits=8", key: "rtu:///dev/ttyS1", speed: 19200, parity: modbus.PARITY_EVEN, stop: 1, serial: true},
		{url: "rtu:///dev/ttyS1?stop_bits=2&parity=odd", key: "rtu:///dev/ttyS1", speed: 9600, parity: modbus.PARITY_ODD, stop: 2, serial: true},
		{url: "rtuovertcp://gw:4001?baud=38400", key: "rtuovertcp://gw:4001", speed: 38400, serial: true},
		{url: "rtu:///dev/ttyS1?baud=fast", wantErr: true},
		{url: "rtu:///dev/ttyS1?parity=X", wantErr: true},
		{url: "rtu:///dev/ttyS1?stop_bits=3", wantErr: true},
		{url: "rtu:///dev/ttyS1?speed=9600", wantErr: true},
		{url: "rtu://", wantErr: true},
		{url: "tcp://", wantErr: true},
		{url: "udp://1.2.3.4:502", wantErr: true},
		{url: "tcp://h:502?baud=9600", wantErr: true},
		{url: "tcp+tls://h:802", wantErr: true},
		{url: "tcp+tls://h:802?ca_file=/nonexistent&cert_file=/x&key_file=/y", wantErr: true},
		{url: "::bad", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			a, err := parseLinkURL(tt.url, nil)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseLinkURL(%q) = %+v, want an error", tt.url, a)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.key != tt.key || a.conf.Speed != tt.speed || a.conf.Parity != tt.parity || a.conf.StopBits != tt.stop || a.serial != tt.serial {
				t.Fatalf("parseLinkURL(%q) = key %q speed %d parity %d stop %d serial %v", tt.url, a.key, a.conf.Speed, a.conf.Parity, a.conf.StopBits, a.serial)
			}
			if a.scheme == "rtu" && a.conf.DataBits != 8 {
				t.Fatalf("data bits %d, want 8 set explicitly", a.conf.DataBits)
			}
		})
	}
}

func TestNewManagerErrors(t *testing.T) {
	good := testDevice("a", "tcp://127.0.0.1:1502", 1, oneRegister)
	noProfile := good
	noProfile.ID, noProfile.Resolved = "b", nil
	badURL := good
	badURL.ID, badURL.Modbus.URL = "c", "serial://x"
	badPoint := good
	badPoint.ID = "d"
	badPoint.Resolved = &configs.Profile{Points: []configs.Point{{Name: "x", Table: configs.TableCoil, Type: configs.TypeUint16}}}
	bus1 := testDevice("e", "rtu:///dev/ttyX?baud=9600", 1, oneRegister)
	bus2 := testDevice("f", "rtu:///dev/ttyX?baud=19200", 2, oneRegister)
	_, err := NewManager([]configs.Device{good, good, noProfile, badURL, badPoint, bus1, bus2}, nil)
	if err == nil {
		t.Fatal("NewManager accepted bad devices")
	}
	for _, want := range []string{`"a": defined twice`, `"b": profile`, `"c": modbus url`, `"d": point codec`, `"f": rtu:///dev/ttyX is already used`} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
