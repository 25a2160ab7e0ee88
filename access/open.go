package access

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/events"
)

// MaxOpenLifetime bounds how far ahead a remote open may expire, and so how
// long its id must be remembered to refuse a replay.
const MaxOpenLifetime = 24 * time.Hour

// OpenCommand is a remote open from the platform (P/cmd/open), signed like
// a whitelist update.
type OpenCommand struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	// Floor is the floor to enable at an elevator; absent for doors and gates.
	Floor     *int      `json:"floor,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	By        string    `json:"by"`
}

// HandleOpen verifies a signed remote open and, if it holds, actuates the
// device as a grant and emits access.granted (reason remote_open). It is
// refused with a *Rejection when the signature fails, the command expired,
// its id was seen before (ids are remembered on disk until they expire), or
// it names an unknown device.
func (c *Controller) HandleOpen(ctx context.Context, envelope []byte) error {
	err := c.handleOpen(ctx, envelope)
	if err != nil {
		c.stats.openRejected.Add(1)
		c.log.Warn("remote open refused", "err", err)
	}
	return err
}

func (c *Controller) handleOpen(ctx context.Context, envelope []byte) error {
	payload, _, rej := verifyEnvelope(c.store.signers, envelope)
	if rej != nil {
		return rej
	}
	var cmd OpenCommand
	if err := decodeStrict(payload, &cmd); err != nil {
		return reject(RejectMalformed, "open command: %v", err)
	}
	if !validID(cmd.ID) || cmd.By == "" || cmd.ExpiresAt.IsZero() {
		return reject(RejectMalformed, "open command: id, by and expires_at are required")
	}
	ds := c.devices[cmd.Device]
	if ds == nil {
		return reject(RejectUnknownDev, "open command %s: unknown device %q", cmd.ID, cmd.Device)
	}
	var floors []int
	if ds.dev.Kind == configs.KindElevator {
		if cmd.Floor == nil {
			return reject(RejectMalformed, "open command %s: an elevator needs a floor", cmd.ID)
		}
		// No floor_enable coil for it (a profile without any: FloorCount
		// 0) means nothing to open: refused, not granted and lost.
		if i := *cmd.Floor - ds.dev.LowestFloor; i < 0 || i >= ds.dev.FloorCount {
			return reject(RejectMalformed, "open command %s: %s has no floor %d", cmd.ID, ds.dev.ID, *cmd.Floor)
		}
		floors = []int{*cmd.Floor}
	} else if cmd.Floor != nil {
		return reject(RejectMalformed, "open command %s: floor given for a %s", cmd.ID, ds.dev.Kind)
	}
	now := c.now()
	if !now.Before(cmd.ExpiresAt) {
		return reject(RejectExpired, "open command %s expired at %s", cmd.ID, cmd.ExpiresAt.Format(time.RFC3339))
	}
	if cmd.ExpiresAt.Sub(now) > MaxOpenLifetime {
		return reject(RejectMalformed, "open command %s: expires_at more than %v ahead", cmd.ID, MaxOpenLifetime)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("open command %s: %w", cmd.ID, err)
	}
	if err := c.store.markOpen(cmd.ID, cmd.ExpiresAt, now); err != nil {
		return err
	}
	d := Decision{Granted: true, Reason: reasonRemoteOpen, Floors: floors}
	ev := events.New(EventGranted, ds.dev.ID, now, events.Info, events.RouteRecord)
	ev.Data = map[string]any{"reason": d.Reason, "via": "remote", "by": cmd.By, "command_id": cmd.ID}
	if ds.location != "" {
		ev.Data["location"] = ds.location
	}
	if floors != nil {
		ev.Data["floors"] = floors
	}
	c.count(d)
	c.enqueue(ds, job{grant: true, floors: floors, event: &ev})
	return nil
}

// markOpen remembers a remote-open id until it expires, refusing one seen
// before, and forgets the ids that have expired.
func (s *Store) markOpen(id string, expires, now time.Time) error {
	if s.readOnly {
		return errors.New("whitelist: opened read-only")
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOpens)
		if b.Get([]byte(id)) != nil {
			return reject(RejectReplayed, "open command %s was already executed", id)
		}
		var stale [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < now.Unix() {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Put([]byte(id), binary.BigEndian.AppendUint64(nil, uint64(expires.Unix())))
	})
	var r *Rejection
	if err != nil && !errors.As(err, &r) {
		return fmt.Errorf("whitelist: remember open %s: %w", id, err)
	}
	return err
}
