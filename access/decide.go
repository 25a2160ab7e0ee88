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
	// Floors are the floors granted at an elevator. The slice is shared
	// with the index: read only.
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
	d := Decision{Hash: h}
	if !validType(typ) {
		d.Reason = ReasonUnknown
		return d
	}
	s.mu.RLock()
	e := s.idx.byHash[h]
	s.mu.RUnlock()
	if e == nil {
		d.Reason = ReasonUnknown
		return d
	}
	d.EntryID = e.id
	if e.revoked {
		d.Reason = ReasonRevoked
		return d
	}
	sec := at.Unix()
	if sec < e.from {
		d.Reason = ReasonNotYetValid
		return d
	}
	if sec >= e.until {
		d.Reason = ReasonExpired
		return d
	}
	floors, ok := e.scopeFor(dev)
	if !ok {
		d.Reason = ReasonScope
		return d
	}
	local := at.In(s.loc)
	if !inSchedule(e.windows, local) {
		d.Reason = ReasonSchedule
		return d
	}
	if e.maxUses > 0 && !s.usage.take(e.id, civilDay(local), e.maxUses, count) {
		d.Reason = ReasonUsageLimit
		return d
	}
	d.Granted, d.Reason, d.Floors = true, ReasonGranted, floors
	return d
}
