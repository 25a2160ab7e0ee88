package configs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

// FuzzProfilePoll checks the promise between the profile loader and the
// poller: every point of a profile ParseProfile accepts is one the drivers'
// codec accepts (CheckPoint) and decodes from Span raw registers or bits
// without a panic. A profile is outside input: an installer writes it.
func FuzzProfilePoll(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/profiles/*.yaml")
	files = append(files, "profiles/door.yaml", "profiles/elevator.yaml", "profiles/gate.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			t.Skip("bounded input")
		}
		p, err := configs.ParseProfile("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, pt := range p.Points {
			if err := drivers.CheckPoint(pt); err != nil {
				t.Fatalf("ParseProfile accepted point %q the codec refuses: %v", pt.Name, err)
			}
			span := drivers.Span(pt)
			if pt.Table.IsBits() {
				if _, err := drivers.DecodeBits(pt, make([]bool, span)); err != nil {
					t.Fatalf("point %q: %d bits: %v", pt.Name, span, err)
				}
				continue
			}
			if _, err := drivers.Decode(pt, make([]uint16, span)); err != nil {
				t.Fatalf("point %q: %d zero registers: %v", pt.Name, span, err)
			}
		}
	})
}

// overflows reports whether a register point's count times its registers
// per element overflows int (see FuzzDecodePoint in drivers).
