package access

import (
	"slices"
	"testing"
	"time"
)

func TestDecideReasons(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	onBothPaths(t, shanghai, func(t *testing.T, f *fixture) { decideReasons(t, f, shanghai) })
}

func decideReasons(t *testing.T, f *fixture, shanghai *time.Location) {
	// Friday 27 Nov 2026, 12:00 in Shanghai.
	noon := time.Date(2026, 11, 27, 12, 0, 0, 0, shanghai)
	day := []Window{{Days: "mon-sun", From: "07:00", To: "23:30"}}
	f.apply(t, snapshot(1,
		Entry{ID: "rider-ok", Credentials: []Credential{cred(TypeCard, "1001"), cred(TypeQR, "QR-1001")},
			Doors: []string{door.ID}, Floors: map[string][]int{lift.ID: {12, 1, 12}}, Gates: []string{gate.ID},
			Schedule: day},
		Entry{ID: "rider-revoked", Credentials: []Credential{cred(TypeCard, "1002")}, Doors: []string{door.ID}, Revoked: true},
		Entry{ID: "rider-expired", Credentials: []Credential{cred(TypeCard, "1003")}, Doors: []string{door.ID},
			ValidUntil: tp(noon.Add(-time.Hour))},
		Entry{ID: "rider-future", Credentials: []Credential{cred(TypeCard, "1004")}, Doors: []string{door.ID},
			ValidFrom: tp(noon.Add(time.Hour))},
		Entry{ID: "rider-night", Credentials: []Credential{cred(TypeCard, "1005")}, Doors: []string{door.ID},
			Schedule: []Window{{Days: "fri", From: "22:00", To: "02:00"}}},
		Entry{ID: "rider-limited", Credentials: []Credential{cred(TypePIN, "4321")}, Doors: []string{door.ID},
			MaxUsesPerDay: 2},
		Entry{ID: "rider-window", Credentials: []Credential{cred(TypeCard, "1006")}, Doors: []string{door.ID},
			ValidFrom: tp(noon.Add(-time.Hour)), ValidUntil: tp(noon.Add(time.Hour))},
	))

	for _, tc := range []struct {
		name       string
		dev        Device
		typ, value string
		at         time.Time
		granted    bool
		reason     string
		entry      string
		floors     []int
	}{
		{"door granted", door, TypeCard, "1001", noon, true, ReasonGranted, "rider-ok", nil},
		{"second credential", gate, TypeQR, "QR-1001", noon, true, ReasonGranted, "rider-ok", nil},
		{"lift floors", lift, TypeQR, "QR-1001", noon, true, ReasonGranted, "rider-ok", []int{1, 12}},
		{"unknown value", door, TypeCard, "9999", noon, false, ReasonUnknown, "", nil},
		{"type is part of the hash", door, TypePIN, "1001", noon, false, ReasonUnknown, "", nil},
		{"unknown type", door, "face", "1001", noon, false, ReasonUnknown, "", nil},
		{"revoked", door, TypeCard, "1002", noon, false, ReasonRevoked, "rider-revoked", nil},
		{"expired", door, TypeCard, "1003", noon, false, ReasonExpired, "rider-expired", nil},
		{"not yet valid", door, TypeCard, "1004", noon, false, ReasonNotYetValid, "rider-future", nil},
		{"valid window start", door, TypeCard, "1006", noon.Add(-time.Hour), true, ReasonGranted, "rider-window", nil},
		{"valid window end is exclusive", door, TypeCard, "1006", noon.Add(time.Hour), false, ReasonExpired, "rider-window", nil},
		{"scope other door", other, TypeCard, "1001", noon, false, ReasonScope, "rider-ok", nil},
		{"scope kind mismatch", Device{ID: lift.ID, Kind: "door"}, TypeCard, "1001", noon, false, ReasonScope, "rider-ok", nil},
		{"scope lift without floors", Device{ID: "lift-b", Kind: "elevator"}, TypeQR, "QR-1001", noon, false, ReasonScope, "rider-ok", nil},
		{"schedule before opening", door, TypeCard, "1001", noon.Add(-5*time.Hour - time.Minute), false, ReasonSchedule, "rider-ok", nil},
		{"schedule at opening", door, TypeCard, "1001", noon.Add(-5 * time.Hour), true, ReasonGranted, "rider-ok", nil},
		{"schedule at closing", door, TypeCard, "1001", noon.Add(11*time.Hour + 30*time.Minute), false, ReasonSchedule, "rider-ok", nil},
		{"night fri 23:00", door, TypeCard, "1005", noon.Add(11 * time.Hour), true, ReasonGranted, "rider-night", nil},
		{"night sat 01:59", door, TypeCard, "1005", noon.Add(13*time.Hour + 59*time.Minute), true, ReasonGranted, "rider-night", nil},
		{"night sat 02:00", door, TypeCard, "1005", noon.Add(14 * time.Hour), false, ReasonSchedule, "rider-night", nil},
		{"night fri 01:00 belongs to thursday", door, TypeCard, "1005", noon.Add(-11 * time.Hour), false, ReasonSchedule, "rider-night", nil},
		{"night sat 23:00", door, TypeCard, "1005", noon.Add(35 * time.Hour), false, ReasonSchedule, "rider-night", nil},
		{"limited 1", door, TypePIN, "4321", noon, true, ReasonGranted, "rider-limited", nil},
		{"limited 2", door, TypePIN, "4321", noon, true, ReasonGranted, "rider-limited", nil},
		{"limited 3", door, TypePIN, "4321", noon, false, ReasonUsageLimit, "rider-limited", nil},
		{"limited next local day", door, TypePIN, "4321", time.Date(2026, 11, 28, 0, 1, 0, 0, shanghai), true, ReasonGranted, "rider-limited", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := f.store.Decide(tc.dev, tc.typ, tc.value, tc.at)
			if d.Granted != tc.granted || d.Reason != tc.reason || d.EntryID != tc.entry {
				t.Fatalf("Decide = %v %q %q, want %v %q %q", d.Granted, d.Reason, d.EntryID, tc.granted, tc.reason, tc.entry)
			}
			if !slices.Equal(d.Floors, tc.floors) {
				t.Errorf("floors = %v, want %v", d.Floors, tc.floors)
			}
			if d.Hash != HashCredential(testKey, tc.typ, tc.value) {
				t.Error("decision carries the wrong hash")
			}
		})
	}
}

func TestExplainDoesNotCount(t *testing.T) { onBothPaths(t, time.UTC, explainDoesNotCount) }

func explainDoesNotCount(t *testing.T, f *fixture) {
	f.apply(t, snapshot(1, Entry{ID: "r1", Credentials: []Credential{cred(TypePIN, "77")}, Doors: []string{door.ID}, MaxUsesPerDay: 1}))
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for range 3 {
		if d := f.store.Explain(door, TypePIN, "77", at); !d.Granted {
			t.Fatalf("Explain = %+v", d)
		}
	}
	if d := f.store.Decide(door, TypePIN, "77", at); !d.Granted {
		t.Fatalf("first Decide = %+v", d)
	}
	if d := f.store.Explain(door, TypePIN, "77", at); d.Reason != ReasonUsageLimit {
		t.Fatalf("Explain after use = %+v", d)
	}
}

func TestUsagePersists(t *testing.T) {
	f := newFixture(t, time.UTC)
	f.apply(t, snapshot(1, Entry{ID: "r1", Credentials: []Credential{cred(TypePIN, "77")}, Doors: []string{door.ID}, MaxUsesPerDay: 1}))
	now := time.Now()
	if d := f.store.Decide(door, TypePIN, "77", now); !d.Granted {
		t.Fatalf("Decide = %+v", d)
	}
	path := f.store.path
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Site: "wannan", Key: testKey, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
	if d := s.Decide(door, TypePIN, "77", now); d.Reason != ReasonUsageLimit {
		t.Fatalf("after reopen Decide = %+v, want usage_limit", d)
	}
}

// The same instant is in or out of a schedule depending on the site's zone.
func TestScheduleTimeZones(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	// 2026-11-27 15:30 UTC is 23:30 Friday in Shanghai, 10:30 Friday in New York.
	at := time.Date(2026, 11, 27, 15, 30, 0, 0, time.UTC)
	entry := Entry{ID: "r1", Credentials: []Credential{cred(TypeCard, "5")}, Doors: []string{door.ID},
		Schedule: []Window{{Days: "mon-fri", From: "08:00", To: "20:00"}}}
	for _, tc := range []struct {
		loc  *time.Location
		want string
	}{
		{shanghai, ReasonSchedule},
		{ny, ReasonGranted},
		{time.UTC, ReasonGranted},
	} {
		t.Run(tc.loc.String(), func(t *testing.T) {
			onBothPaths(t, tc.loc, func(t *testing.T, f *fixture) {
				f.apply(t, snapshot(1, entry))
				if d := f.store.Decide(door, TypeCard, "5", at); d.Reason != tc.want {
					t.Fatalf("Decide = %q, want %q", d.Reason, tc.want)
				}
			})
		})
	}
}

func TestWindowContains(t *testing.T) {
	mk := func(days, from, to string) window {
		w, err := compileWindow(Window{Days: days, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, tc := range []struct {
		w      window
		day    time.Weekday
		hh, mm int
		want   bool
	}{
		{mk("mon-sun", "07:00", "23:30"), time.Wednesday, 7, 0, true},
		{mk("mon-sun", "07:00", "23:30"), time.Wednesday, 6, 59, false},
		{mk("mon,wed,fri", "00:00", "24:00"), time.Tuesday, 12, 0, false},
		{mk("mon,wed,fri", "00:00", "24:00"), time.Friday, 23, 59, true},
		{mk("sat-sun", "09:00", "17:00"), time.Sunday, 9, 0, true},
		{mk("sat-sun", "09:00", "17:00"), time.Monday, 9, 0, false},
		{mk("fri-mon", "09:00", "17:00"), time.Monday, 10, 0, true},
		{mk("fri-mon", "09:00", "17:00"), time.Tuesday, 10, 0, false},
		{mk("sun", "22:00", "06:00"), time.Sunday, 23, 0, true},
		{mk("sun", "22:00", "06:00"), time.Monday, 5, 59, true},
		{mk("sun", "22:00", "06:00"), time.Monday, 6, 0, false},
		{mk("sun", "22:00", "06:00"), time.Sunday, 5, 0, false},
		{mk("sat", "23:00", "00:00"), time.Saturday, 23, 59, true},
		{mk("sat", "23:00", "00:00"), time.Sunday, 0, 0, false},
	} {
		if got := tc.w.contains(tc.day, uint16(tc.hh*60+tc.mm)); got != tc.want {
			t.Errorf("%+v contains %s %02d:%02d = %v, want %v", tc.w, tc.day, tc.hh, tc.mm, got, tc.want)
		}
	}
}

func TestWindowRejects(t *testing.T) {
	for _, w := range []Window{
		{Days: "", From: "07:00", To: "08:00"},
		{Days: "mon-funday", From: "07:00", To: "08:00"},
		{Days: "mon", From: "7:00", To: "08:00"},
		{Days: "mon", From: "07:60", To: "08:00"},
		{Days: "mon", From: "24:00", To: "08:00"},
		{Days: "mon", From: "07:00", To: "24:01"},
		{Days: "mon", From: "07:00", To: "07:00"},
		{Days: "mon", From: "0a:00", To: "08:00"},
	} {
		if _, err := compileWindow(w); err == nil {
			t.Errorf("compileWindow(%+v) accepted", w)
		}
	}
}

// DST: a window is local wall-clock time on both sides of a change.
func TestScheduleAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	onBothPaths(t, ny, func(t *testing.T, f *fixture) { scheduleAcrossDST(t, f, ny) })
}

func scheduleAcrossDST(t *testing.T, f *fixture, ny *time.Location) {
	f.apply(t, snapshot(1, Entry{ID: "r1", Credentials: []Credential{cred(TypeCard, "5")}, Doors: []string{door.ID},
		Schedule: []Window{{Days: "sat", From: "22:00", To: "06:00"}}}))
	// DST ended on Sunday 1 Nov 2026 at 02:00 local: the night is 9 hours long.
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 1, 5, 59, 0, 0, ny), ReasonGranted},
		{time.Date(2026, 11, 1, 6, 0, 0, 0, ny), ReasonSchedule},
		{time.Date(2026, 10, 31, 21, 59, 0, 0, ny), ReasonSchedule},
	} {
		if d := f.store.Decide(door, TypeCard, "5", tc.at); d.Reason != tc.want {
			t.Errorf("at %v: %q, want %q", tc.at, d.Reason, tc.want)
		}
	}
}
