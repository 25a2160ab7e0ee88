package access

import (
	"fmt"
	"strings"
	"time"
)

// window is a compiled [Window]: a bit per weekday (bit time.Sunday ...) and
// minutes of the day. to <= from means the window crosses midnight.
type window struct {
	days     uint8
	from, to uint16
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseDays reads "mon-sun", "mon,wed,fri", "sat-sun", "fri-mon" (wrapping)
// or combinations such as "mon-wed,sat".
func parseDays(s string) (uint8, error) {
	if strings.TrimSpace(s) == "" {
		return 0, fmt.Errorf("days is empty")
	}
	var mask uint8
	for part := range strings.SplitSeq(strings.ToLower(s), ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.TrimSpace(lo)]
		if !ok {
			return 0, fmt.Errorf("days %q: unknown day %q", s, lo)
		}
		if !isRange {
			mask |= 1 << a
			continue
		}
		b, ok := dayNames[strings.TrimSpace(hi)]
		if !ok {
			return 0, fmt.Errorf("days %q: unknown day %q", s, hi)
		}
		for d := a; ; d = (d + 1) % 7 {
			mask |= 1 << d
			if d == b {
				break
			}
		}
	}
	return mask, nil
}

// parseClock reads "HH:MM" as minutes of the day; "24:00" is allowed when
// end is set.
func parseClock(s string, end bool) (uint16, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	for i, c := range []byte(s) {
		if i == 2 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("time %q: want HH:MM", s)
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, fmt.Errorf("time %q out of range", s)
	}
	return uint16(h*60 + m), nil
}

func compileWindow(w Window) (window, error) {
	days, err := parseDays(w.Days)
	if err != nil {
		return window{}, err
	}
	from, err := parseClock(w.From, false)
	if err != nil {
		return window{}, fmt.Errorf("from: %w", err)
	}
	to, err := parseClock(w.To, true)
	if err != nil {
		return window{}, fmt.Errorf("to: %w", err)
	}
	if from == to {
		return window{}, fmt.Errorf("from and to are both %s: an empty window", w.From)
	}
	return window{days: days, from: from, to: to}, nil
}

// contains reports whether the local weekday and minute of the day fall in
// the window. A window crossing midnight belongs to the day it starts on.
func (w window) contains(day time.Weekday, minute uint16) bool {
	if w.from < w.to {
		return w.days&(1<<day) != 0 && minute >= w.from && minute < w.to
	}
	if w.days&(1<<day) != 0 && minute >= w.from {
		return true
	}
	prev := (day + 6) % 7
	return w.days&(1<<prev) != 0 && minute < w.to
}

// inSchedule reports whether local time t is inside any window; no windows
// means always.
func inSchedule(ws []window, t time.Time) bool {
	if len(ws) == 0 {
		return true
	}
	hh, mm, _ := t.Clock()
	day, minute := t.Weekday(), uint16(hh*60+mm)
	for _, w := range ws {
		if w.contains(day, minute) {
			return true
		}
	}
	return false
}

// civilDay numbers the local calendar date of t (days since 1970-01-01),
// so usage counters reset at the site's midnight, not UTC's.
func civilDay(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
