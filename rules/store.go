package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jusha-ean/edge/events"
)

// stateVersion is the version of the persisted state format.
const stateVersion = 1

// StateFile is the name of the engine's state file under state_dir:
// NewFileStore(filepath.Join(cfg.StateDir, rules.StateFile)).
const StateFile = "alarms.json"

// state is what the engine persists: the alarms it tracks, the last n of
// every alarm id prefix, and the events made but not yet handed to emit.
type state struct {
	Version  int               `json:"version"`
	Counters map[string]uint64 `json:"counters"`
	Alarms   []*Alarm          `json:"alarms"`
	Pending  []events.Event    `json:"pending,omitempty"`
}

// FileStore is a StateStore in one file, replaced atomically on each save
// (temporary file, fsync, rename, fsync of the directory), so a crash leaves
// either the old state or the new one.
type FileStore struct{ path string }

// NewFileStore returns a store at path; its directory must exist.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

var _ StateStore = (*FileStore)(nil)

// Load returns the saved state, or nil when none was saved yet.
func (f *FileStore) Load() ([]byte, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rules: load state: %w", err)
	}
	return b, nil
}

// Save replaces the saved state with b.
func (f *FileStore) Save(b []byte) error {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(f.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("rules: save state: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, f.path)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("rules: save state %s: %w", f.path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		derr = d.Sync()
		_ = d.Close()
		if derr != nil {
			return fmt.Errorf("rules: save state: sync %s: %w", dir, derr)
		}
	}
	return nil
}

// snapshot encodes the state with pending as the events not yet emitted.
// Called with e.mu held.
func (e *Engine) snapshot(pending []events.Event) ([]byte, error) {
	st := state{Version: stateVersion, Counters: e.counters, Pending: pending,
		Alarms: make([]*Alarm, 0, len(e.alarms))}
	for _, a := range e.alarms {
		st.Alarms = append(st.Alarms, a)
	}
	sort.Slice(st.Alarms, func(i, j int) bool { return st.Alarms[i].ID < st.Alarms[j].ID })
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("rules: encode state: %w", err)
	}
	return b, nil
}

// restore loads the saved state (a Load error is returned; an undecodable
// state is logged and replaced): counters, the alarms still tracked, each
// attached to its rule on its device, and the events still to emit (they
// leave on the first flush, from Run or the first reading). An alarm whose
// device or rule is no longer configured is cleared. Called before the
// engine is shared.
func (e *Engine) restore() error {
	if e.store == nil {
		return nil
	}
	b, err := e.store.Load()
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	var st state
	err = json.Unmarshal(b, &st)
	if err == nil && st.Version != stateVersion {
		err = fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	if err != nil {
		// A damaged state must not keep the gateway from watching its
		// devices. The alarms it held are lost; their ids are not reused:
		// every n continues above the current Unix time in seconds, which
		// no counter raising one per alarm can have reached.
		e.counterFloor = uint64(max(e.now().Unix(), 0))
		e.dirty = true
		e.log.Error("saved alarm state unreadable; starting without it", "err", err,
			"next_alarm_n_from", e.counterFloor+1)
		return nil
	}
	for k, n := range st.Counters {
		e.counters[k] = n
	}
	e.queue = append(e.queue, st.Pending...)
	for _, a := range st.Alarms {
		if a == nil || a.ID == "" {
			continue
		}
		e.noteCounter(a)
		e.alarms[a.ID] = a
		for _, id := range a.EventIDs {
			e.byEvent[id] = a.ID
		}
		if a.Cleared {
			continue
		}
		d := e.devices[a.Device]
		var s *slot
		if d != nil {
			s = d.slot(a.Type)
		}
		if s == nil || s.alarm != nil || s.p.disabled {
			e.log.Warn("restored alarm no longer matches the config; clearing it", "alarm", a.ID)
			tmp := slot{typ: a.Type, alarm: a}
			typ := a.Type
			if typ == TypeDeviceOffline {
				typ = TypeDeviceOnline
			}
			e.clearSlot(&tmp, e.now(), typ, map[string]any{"reason": "no longer configured"})
			continue
		}
		s.alarm, s.cond, s.condSince = a, true, a.RaisedAt.Add(-s.p.after)
		d.restored(a)
	}
	e.log.Info("alarm state restored", "alarms", len(e.alarms), "pending_events", len(st.Pending))
	return nil
}

// noteCounter keeps the counter of a's prefix at least a's n, so that an
// id is never reused even if the counters were lost.
func (e *Engine) noteCounter(a *Alarm) {
	i := strings.LastIndexByte(a.ID, '/')
	if i < 0 {
		return
	}
	n, err := strconv.ParseUint(a.ID[i+1:], 10, 64)
	if err == nil && n > e.counters[a.ID[:i]] {
		e.counters[a.ID[:i]] = n
	}
}

// slot returns d's rule of type typ, or nil.
func (d *device) slot(typ string) *slot {
	switch typ {
	case TypeDeviceOffline:
		return &d.offline
	case TypeAccessProbing:
		return &d.probing
	case TypeAccessSharing:
		return &d.sharing
	}
	switch {
	case d.door != nil:
		return d.door.slot(typ)
	case d.elev != nil:
		return d.elev.slot(typ)
	case d.gate != nil:
		return d.gate.slot(typ)
	}
	return nil
}

// restored lets d's detector rebuild the state behind a restored alarm.
func (d *device) restored(a *Alarm) {
	switch a.Type {
	case TypeDeviceOffline:
		d.online = false
	case TypeAccessSharing:
		d.lastShare = a.RaisedAt
	}
	switch {
	case d.door != nil:
		d.door.restored(a)
	case d.elev != nil:
		d.elev.restored(a)
	case d.gate != nil:
		d.gate.restored(a)
	}
}
