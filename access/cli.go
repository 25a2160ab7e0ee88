package access

import (
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

// ConfiguredDevice returns the decision view of the configured device id.
func ConfiguredDevice(cfg *configs.Config, id string) (Device, error) {
	for _, d := range cfg.Devices {
		if d.ID == id {
			return DeviceFrom(d), nil
		}
	}
	return Device{}, fmt.Errorf("no device %q in the config", id)
}

// ParseAt reads a --at time: RFC 3339, or "2006-01-02 15:04[:05]" in the
// site's zone; empty means now.
func ParseAt(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or \"2006-01-02 15:04\" in the site zone", s)
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
	if !readOnly {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
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
