package access

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Key file names GenerateKeys writes.
const (
	SigningKeyFile = "signing.key"
	SigningPubFile = "signing.pub"
	SiteKeyFile    = "site.key"
)

// GenerateKeys writes a new Ed25519 signing key pair (base64) and a site key
// (hex) into dir (`edge keys gen`). Secret files get mode 0600; existing
// files are never overwritten.
func GenerateKeys(w io.Writer, dir, keyID string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keys gen: %w", err)
	}
	site := make([]byte, SiteKeySize)
	if _, err := rand.Read(site); err != nil {
		return fmt.Errorf("keys gen: %w", err)
	}
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{SigningKeyFile, base64.StdEncoding.EncodeToString(priv) + "\n", 0o600},
		{SigningPubFile, base64.StdEncoding.EncodeToString(pub) + "\n", 0o644},
		{SiteKeyFile, hex.EncodeToString(site) + "\n", 0o600},
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f.name)); err == nil {
			return fmt.Errorf("keys gen: %s already exists; not overwriting", filepath.Join(dir, f.name))
		}
	}
	for _, f := range files {
		if err := writeNew(filepath.Join(dir, f.name), f.content, f.mode); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "wrote %s (keep on the platform), %s, %s (copy to the gateway, mode 0600)\n\naccess:\n  key_file: %s\n  signers:\n    - { id: %s, public_key: %q }\n",
		filepath.Join(dir, SigningKeyFile), filepath.Join(dir, SigningPubFile), filepath.Join(dir, SiteKeyFile),
		filepath.Join(dir, SiteKeyFile), keyID, base64.StdEncoding.EncodeToString(pub))
	return err
}

func writeNew(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("keys gen: %w", err)
	}
	_, err = f.WriteString(content)
	return errors.Join(err, f.Sync(), f.Close())
}

// LoadSigningKey reads a private key written by GenerateKeys: the 64-byte
// Ed25519 private key (or its 32-byte seed) in standard base64. It refuses a
// file readable by group or others.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	if err := checkSecretFile(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	switch {
	case err != nil:
		return nil, fmt.Errorf("signing key %s: not standard base64", path)
	case len(k) == ed25519.PrivateKeySize:
		return ed25519.PrivateKey(k), nil
	case len(k) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(k), nil
	}
	return nil, fmt.Errorf("signing key %s: want %d or %d bytes, got %d", path, ed25519.PrivateKeySize, ed25519.SeedSize, len(k))
}

// SignDocument checks a plain whitelist document strictly and writes its
// signed envelope (`edge whitelist sign`), so that a mistake is caught
// before it reaches a gateway.
func SignDocument(w io.Writer, priv ed25519.PrivateKey, keyID string, doc []byte) error {
	if _, err := ParseDocument(doc); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	env, err := SignEnvelope(priv, keyID, doc)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", env)
	return err
}
