package access

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// SiteKeySize is the length in bytes of a site key.
const SiteKeySize = 32

// Credential types a reader may produce.
const (
	TypeCard = "card"
	TypeQR   = "qr"
	TypePIN  = "pin"
)

// validType reports whether t is a known credential type.
func validType(t string) bool { return t == TypeCard || t == TypeQR || t == TypePIN }

// LoadSiteKey reads a site key file: 64 hex characters (32 bytes) on one
// line. It refuses a file that group or others may read, naming the file, so
// that a leaked key cannot turn stored hashes back into card numbers by brute
// force.
func LoadSiteKey(path string) ([]byte, error) {
	if err := checkSecretFile(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("site key: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) != 2*SiteKeySize || strings.ContainsAny(s, " \t\r\n") {
		return nil, fmt.Errorf("site key %s: want %d hex characters on one line", path, 2*SiteKeySize)
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("site key %s: not hex", path)
	}
	return key, nil
}

// checkSecretFile refuses a secret file readable by group or others.
func checkSecretFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("secret file %s is a directory", path)
	}
	if m := st.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("secret file %s has mode %04o: it must not be readable by group or others (chmod 600 %s)", path, m, path)
	}
	return nil
}

// HashCredential returns HMAC-SHA256(key, typ + ":" + value), the only form
// in which a credential is stored or compared. It is the reference
// implementation; decisions use the allocation-free [Hasher].
func HashCredential(key []byte, typ, value string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(typ))
	m.Write([]byte{':'})
	m.Write([]byte(value))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// Hasher computes credential hashes like [HashCredential] without allocating
// for values up to maxInline bytes. It is safe for concurrent use.
type Hasher struct {
	ipad, opad [sha256.BlockSize]byte
}

// maxInline bounds the credential length hashed on the stack; longer values
// (unusual QR payloads) take the allocating path.
const maxInline = 448

// NewHasher returns a Hasher for the site key.
func NewHasher(key []byte) *Hasher {
	k := key
	if len(k) > sha256.BlockSize {
		s := sha256.Sum256(k)
		k = s[:]
	}
	h := &Hasher{}
	for i := range sha256.BlockSize {
		var b byte
		if i < len(k) {
			b = k[i]
		}
		h.ipad[i] = b ^ 0x36
		h.opad[i] = b ^ 0x5c
	}
	return h
}

// Hash returns HMAC-SHA256(key, typ + ":" + value).
func (h *Hasher) Hash(typ, value string) [32]byte {
	n := len(typ) + 1 + len(value)
	if n > maxInline {
		buf := make([]byte, 0, sha256.BlockSize+n)
		buf = append(append(append(append(buf, h.ipad[:]...), typ...), ':'), value...)
		return h.outer(sha256.Sum256(buf))
	}
	var buf [sha256.BlockSize + maxInline]byte
	copy(buf[:], h.ipad[:])
	i := sha256.BlockSize + copy(buf[sha256.BlockSize:], typ)
	buf[i] = ':'
	i++
	i += copy(buf[i:], value)
	return h.outer(sha256.Sum256(buf[:i]))
}

func (h *Hasher) outer(inner [32]byte) [32]byte {
	var buf [sha256.BlockSize + sha256.Size]byte
	copy(buf[:], h.opad[:])
	copy(buf[sha256.BlockSize:], inner[:])
	return sha256.Sum256(buf[:])
}

// hashPrefix is a short, non-reversible tag of a credential hash for events
// and logs: enough to correlate repeated reads, useless to recover the value.
func hashPrefix(h [32]byte) string { return hex.EncodeToString(h[:4]) }
