package access

import (
	"time"

	"github.com/jusha-ean/edge/configs"
)

// Reasons a decision gives; the denial reasons are those of CONTRACT
// section 5 (data.reason of access.denied).
const (
	ReasonGranted     = "granted"
	ReasonUnknown     = "unknown"
	ReasonExpired     = "expired"
	ReasonNotYetValid = "not_yet_valid"
	ReasonSchedule    = "schedule"
	ReasonScope       = "scope"
	ReasonRevoked     = "revoked"
	ReasonUsageLimit  = "usage_limit"
	reasonRemoteOpen  = "remote_open"
)

// Device is what a decision needs to know of the device a credential was
// read at.
type Device struct {
	ID   string
	Kind string // door, elevator or gate
	// CredentialType is what the device's reader reads: card, qr or pin.
	CredentialType string
	// LowestFloor is the floor of an elevator's first floor_enable coil.
	LowestFloor int
	// FloorCount is the number of floor_enable coils; 0 if unknown.
	FloorCount int
}

// DeviceFrom returns the decision view of a configured device.
func DeviceFrom(d configs.Device) Device {
	dev := Device{ID: d.ID, Kind: d.Kind, CredentialType: d.CredentialType, LowestFloor: d.LowestFloor}
	if d.Resolved != nil {
		for _, p := range d.Resolved.Points {
			if p.Name == "floor_enable" {
				dev.FloorCount = p.Elements()
			}
		}
	}
	return dev
}

// Decision is the answer for one credential at one device.
type Decision struct {
	Granted bool
	// Reason is ReasonGranted or a denial reason.
	Reason string
	// EntryID is the matched entry, empty when the credential is unknown.
	EntryID string
	// Floors are the floors granted at an elevator, sorted, without
	// duplicates.
	Floors []int
	// Hash is the credential's keyed hash (never the value).
	Hash [32]byte
}

// Decide hashes a credential read at dev and decides at time at, counting
// the use against the entry's daily limit when granted.
func (s *Store) Decide(dev Device, typ, value string, at time.Time) Decision {
	return s.decide(&dev, typ, s.hasher.Hash(typ, value), at, true)
}

// DecideHash decides for an already hashed credential of type typ.
func (s *Store) DecideHash(dev Device, typ string, h [32]byte, at time.Time) Decision {
	return s.decide(&dev, typ, h, at, true)
}

// Explain decides like Decide but counts nothing: for offline checks.
func (s *Store) Explain(dev Device, typ, value string, at time.Time) Decision {
	return s.decide(&dev, typ, s.hasher.Hash(typ, value), at, false)
}

func (s *Store) decide(dev *Device, typ string, h [32]byte, at time.Time, count bool) Decision {
	d := Decision{Hash: h, Reason: ReasonUnknown}
	if !validType(typ) {
		return d
	}
	ix := s.idx.Load()
	if ix == nil {
		s.decideOnFile(&d, dev, at, count)
		return d
	}
	var v view
	if !ix.lookup(&h, &v) {
		return d
	}
	d.EntryID = v.id
	d.Reason = s.checkView(&v, dev, at, count, &d.Floors)
	d.Granted = d.Reason == ReasonGranted
	return d
}

// decideOnFile decides d by reading the file, for as long as there is no
// index: it finds the same entry and applies the same rules.
func (s *Store) decideOnFile(d *Decision, dev *Device, at time.Time, count bool) {
	// One short read transaction: it sees one applied version whole, and
	// an update committing meanwhile does not wait for it.
	tx, err := s.db.Begin(false)
	if err != nil {
		s.log.Error("whitelist unreadable: credential denied", "err", err)
		return
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to undo
	s.markTouched()
	id, v := s.lookup(tx, &d.Hash)
	if v == nil {
		return
	}
	d.EntryID = string(id)
	rec, err := parseRecord(v)
	if err != nil {
		s.log.Error("stored whitelist entry unreadable: credential denied", "entry", d.EntryID, "err", err)
		return
	}
	d.Reason = s.checkRecord(&rec, d.EntryID, dev, at, count, &d.Floors)
	d.Granted = d.Reason == ReasonGranted
}

// checkView applies an indexed entry's rules in the order of the denial
// reasons, and counts a use against its daily limit when count is set and
// it grants.
func (s *Store) checkView(v *view, dev *Device, at time.Time, count bool, floors *[]int) string {
	if v.revoked {
		return ReasonRevoked
	}
	if r := validity(v.from, v.until, at); r != "" {
		return r
	}
	fl, ok := v.scopeFor(dev)
	if !ok {
		return ReasonScope
	}
	if r := s.admit(v.id, v.windows, v.maxUses, at, count); r != ReasonGranted {
		return r
	}
	*floors = fl
	return ReasonGranted
}

// checkRecord is checkView for an entry read from the file.
func (s *Store) checkRecord(rec *record, id string, dev *Device, at time.Time, count bool, floors *[]int) string {
	if rec.revoked {
		return ReasonRevoked
	}
	if r := validity(rec.from, rec.until, at); r != "" {
		return r
	}
	fl, ok := rec.scopeFor(dev)
	if !ok {
		return ReasonScope
	}
	windows, err := s.schedules.get(rec.schedule)
	if err != nil {
		s.log.Error("stored whitelist schedule unreadable: credential denied", "entry", id, "err", err)
		return ReasonSchedule
	}
	if r := s.admit(id, windows, rec.maxUses, at, count); r != ReasonGranted {
		return r
	}
	*floors = fl
	return ReasonGranted
}

// validity says why an entry valid over [from, until) is not valid at at,
// "" if it is.
func validity(from, until int64, at time.Time) string {
	sec := at.Unix()
	if sec < from {
		return ReasonNotYetValid
	}
	if sec >= until {
		return ReasonExpired
	}
	return ""
}

// admit applies the schedule and the daily limit, the last two rules.
func (s *Store) admit(id string, windows []window, maxUses uint32, at time.Time, count bool) string {
	local := at.In(s.loc)
	if !inSchedule(windows, local) {
		return ReasonSchedule
	}
	if maxUses > 0 && !s.usage.take(id, civilDay(local), maxUses, count) {
		return ReasonUsageLimit
	}
	return ReasonGranted
}
