package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHasherMatchesHMAC(t *testing.T) {
	h := NewHasher(testKey)
	for _, tc := range []struct{ typ, value string }{
		{TypeCard, "12345678"},
		{TypeQR, ""},
		{TypePIN, "0000"},
		{TypeQR, strings.Repeat("x", maxInline)},     // longest inline value
		{TypeQR, strings.Repeat("y", 3*maxInline+7)}, // allocating path
	} {
		if got, want := h.Hash(tc.typ, tc.value), HashCredential(testKey, tc.typ, tc.value); got != want {
			t.Errorf("Hash(%s, %d bytes) = %x, want %x", tc.typ, len(tc.value), got, want)
		}
	}
	if HashCredential(testKey, TypeCard, "1") == HashCredential(testKey, TypePIN, "1") {
		t.Error("the type must be part of the hash")
	}
}

func TestHasherZeroAlloc(t *testing.T) {
	h := NewHasher(testKey)
	if n := testing.AllocsPerRun(100, func() { _ = h.Hash(TypeQR, "QR-RIDER-000123") }); n != 0 {
		t.Errorf("Hash allocates %v times", n)
	}
}

func TestLoadSiteKey(t *testing.T) {
	dir := t.TempDir()
	good := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, content string
		mode          os.FileMode
		wantErr       string
	}{
		{"ok", good + "\n", 0o600, ""},
		{"ok no newline", good, 0o400, ""},
		{"group readable", good, 0o640, "must not be readable by group or others"},
		{"world readable", good, 0o604, "must not be readable by group or others"},
		{"short", good[:62], 0o600, "64 hex characters"},
		{"not hex", strings.Repeat("zz", 32), 0o600, "not hex"},
		{"two lines", good[:32] + "\n" + good[32:], 0o600, "64 hex characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".key")
			if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			key, err := LoadSiteKey(p)
			if tc.wantErr == "" {
				if err != nil || len(key) != SiteKeySize {
					t.Fatalf("LoadSiteKey = %d bytes, %v", len(key), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(tc.wantErr, "readable") && !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := LoadSiteKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}
