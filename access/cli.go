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
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jusha-ean/edge/configs"
)

// StoreFile is the whitelist file's name under the state dir.
const StoreFile = "whitelist.db"

// Location returns the site's time zone: the IANA name tz, or time.Local
// when empty.
func Location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", tz, err)
	}
	return loc, nil
}

// OpenConfigured opens the store a config describes: the site key from
// access.key_file, the signers, the site time zone and
// state_dir/whitelist.db. readOnly is for offline tools.
func OpenConfigured(cfg *configs.Config, readOnly bool, opts Options) (*Store, error) {
	key, err := LoadSiteKey(cfg.Access.KeyFile)
	if err != nil {
		return nil, err
	}
	signers, err := ParseSigners(cfg.Access.Signers)
	if err != nil {
		return nil, err
	}
	loc, err := Location(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	opts.Site, opts.Key, opts.Signers, opts.Location, opts.ReadOnly = cfg.Site, key, signers, loc, readOnly
	return Open(filepath.Join(cfg.StateDir, StoreFile), opts)
}

// ListWhitelist writes what the store holds (`edge whitelist list`): the
// version and one line per entry, with credential types but no hashes.
func ListWhitelist(w io.Writer, s *Store) error {
	info := s.Info()
	issued := "-"
	if !info.IssuedAt.IsZero() {
		issued = info.IssuedAt.In(s.loc).Format(time.RFC3339)
	}
	fmt.Fprintf(w, "site %s  version %d  issued %s  entries %d  zone %s\n\n", info.Site, info.Version, issued, info.Entries, s.loc)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLABEL\tCREDENTIALS\tSCOPE\tVALID\tSCHEDULE\tMAX/DAY\tSTATE")
	err := s.Entries(func(e Entry) error {
		types := make([]string, 0, len(e.Credentials))
		for _, c := range e.Credentials {
			types = append(types, c.Type)
		}
		state := "active"
		if e.Revoked {
			state = "revoked"
		}
		maxUses := "-"
		if e.MaxUsesPerDay > 0 {
			maxUses = fmt.Sprint(e.MaxUsesPerDay)
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, orDash(e.Label), strings.Join(types, ","),
			scopeText(e), s.validText(e), scheduleText(e.Schedule), maxUses, state)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func scopeText(e Entry) string {
	var parts []string
	if len(e.Doors) > 0 {
		parts = append(parts, "doors "+strings.Join(e.Doors, ","))
	}
	if len(e.Gates) > 0 {
		parts = append(parts, "gates "+strings.Join(e.Gates, ","))
	}
	lifts := make([]string, 0, len(e.Floors))
	for l := range e.Floors {
		lifts = append(lifts, l)
	}
	sort.Strings(lifts)
	for _, l := range lifts {
		parts = append(parts, fmt.Sprintf("%s floors %s", l, strings.Trim(fmt.Sprint(e.Floors[l]), "[]")))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func (s *Store) validText(e Entry) string {
	from, until := "", ""
	if e.ValidFrom != nil {
		from = e.ValidFrom.In(s.loc).Format("2006-01-02 15:04")
	}
	if e.ValidUntil != nil {
		until = e.ValidUntil.In(s.loc).Format("2006-01-02 15:04")
	}
	if from == "" && until == "" {
		return "always"
	}
	return from + ".." + until
}

func scheduleText(ws []Window) string {
	if len(ws) == 0 {
		return "any time"
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("%s %s-%s", w.Days, w.From, w.To)
	}
	return strings.Join(parts, "; ")
}

// Entry returns the stored entry with the given id.
func (s *Store) Entry(id string) (Entry, bool, error) {
	var e Entry
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		var err error
		e, err = decodeEntry(v)
		return err
	})
	return e, found, err
}

// CheckCredential explains what a credential would get at a device at a
// time (`edge whitelist check`), without counting a use. The value itself
// is never printed.
func CheckCredential(w io.Writer, s *Store, dev Device, typ, value string, at time.Time) error {
	if !validType(typ) {
		return fmt.Errorf("type %q: want card, qr or pin", typ)
	}
	d := s.Explain(dev, typ, value, at)
	local := at.In(s.loc)
	verdict := "DENIED"
	if d.Granted {
		verdict = "GRANTED"
	}
	fmt.Fprintf(w, "%s (%s) at %s %s, %s\n", verdict, d.Reason, dev.Kind, dev.ID, local.Format("Mon 2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "credential: %s, hash %s…\n", typ, hashPrefix(d.Hash))
	if d.EntryID == "" {
		_, err := fmt.Fprintf(w, "why: no entry of whitelist version %d holds this %s credential\n", s.Version(), typ)
		return err
	}
	e, _, err := s.Entry(d.EntryID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "entry: %s (%s)\n", e.ID, orDash(e.Label))
	var why string
	switch d.Reason {
	case ReasonGranted:
		why = "in scope, valid and within schedule"
		if dev.Kind == configs.KindElevator {
			why += fmt.Sprintf("; floors %s", strings.Trim(fmt.Sprint(d.Floors), "[]"))
		}
	case ReasonRevoked:
		why = "the entry is revoked"
	case ReasonExpired:
		why = "valid until " + e.ValidUntil.In(s.loc).Format(time.RFC3339)
	case ReasonNotYetValid:
		why = "valid from " + e.ValidFrom.In(s.loc).Format(time.RFC3339)
	case ReasonScope:
		why = fmt.Sprintf("%s is not in its scope (%s)", dev.ID, scopeText(e))
	case ReasonSchedule:
		why = fmt.Sprintf("%s is outside its schedule (%s, zone %s)", local.Format("Mon 15:04"), scheduleText(e.Schedule), s.loc)
	case ReasonUsageLimit:
		why = fmt.Sprintf("used %d of %d times on %s", s.usage.used(e.ID, civilDay(local)), e.MaxUsesPerDay, local.Format("2006-01-02"))
	}
	_, err = fmt.Fprintf(w, "why: %s\n", why)
	return err
}

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
