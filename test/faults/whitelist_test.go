package faults_test

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/jusha-ean/edge/access"
)

// riderQR is the QR code of the one whitelisted rider.
const riderQR = "80018812"

// pushWhitelist signs a snapshot that lets the rider through every door of
// the site, sends it as the platform does, and waits for whitelist.applied.
func (s *site) pushWhitelist(version uint64) {
	s.t.Helper()
	h := access.HashCredential(s.key, "qr", riderQR)
	until := time.Now().Add(24 * time.Hour)
	var doors []string
	for _, id := range s.ids {
		if s.sims[id].Kind() == "door" {
			doors = append(doors, id)
		}
	}
	doc := access.Document{Site: "wannan", Version: version, Kind: access.KindSnapshot, IssuedAt: time.Now(),
		Upsert: []access.Entry{{ID: "rider-8812", Label: "rider 138****8812",
			Credentials: []access.Credential{{Type: "qr", Hash: hex.EncodeToString(h[:])}},
			Doors:       doors, ValidUntil: &until}}}
	payload, err := json.Marshal(doc)
	if err != nil {
		s.t.Fatal(err)
	}
	env, err := access.SignEnvelope(s.signer, "central-2026", payload)
	if err != nil {
		s.t.Fatal(err)
	}
	n := len(s.plat.Events())
	if err := s.plat.Command("whitelist", env); err != nil {
		s.t.Fatal(err)
	}
	if !s.waitEvent(n, 10*time.Second, "whitelist.applied", "") {
		s.t.Fatalf("whitelist %d not applied; platform has %v", version, s.eventsOf(n))
	}
}

// waitUnlocked waits until the door simulator's lock is released.
func (s *site) waitUnlocked(door string, timeout time.Duration) bool {
	return waitFor(timeout, func() bool {
		v, err := s.sims[door].Get("lock_released")
		return err == nil && v.Num == 1
	})
}

// waitLocked waits until the door simulator's lock is engaged again.
func (s *site) waitLocked(door string, timeout time.Duration) bool {
	return waitFor(timeout, func() bool {
		v, err := s.sims[door].Get("lock_released")
		return err == nil && v.Num == 0
	})
}
