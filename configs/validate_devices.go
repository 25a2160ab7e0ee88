package configs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

func (c *checker) checkDevices() {
	ids := map[string]*yaml.Node{}
	type link struct {
		url  string
		unit int
	}
	units := map[link]string{}
	for i := range c.cfg.Devices {
		d := &c.cfg.Devices[i]
		label := fmt.Sprintf("devices[%d]", i)
		switch {
		case d.ID == "":
			c.errorf(c.at(&d.ID, d), "%s: id is required", label)
		case !nameRE.MatchString(d.ID):
			c.errorf(c.at(&d.ID, d), "device id %q: want lower case letters, digits and -", d.ID)
		case ids[d.ID] != nil:
			first := ids[d.ID]
			c.errorf(c.at(&d.ID, d), "device id %q given twice (first at %s)", d.ID, lineCol(first))
		default:
			ids[d.ID] = orNode(c.at(&d.ID, d), &yaml.Node{})
		}
		if d.ID != "" {
			label = fmt.Sprintf("device %q", d.ID)
		}
		kindOK := true
		switch d.Kind {
		case KindDoor, KindElevator, KindGate:
		case "":
			kindOK = false
			c.errorf(c.at(&d.Kind, d), "%s: kind is required: door, elevator or gate", label)
		default:
			kindOK = false
			c.errorf(c.at(&d.Kind, d), "%s: unknown kind %q: want door, elevator or gate", label, d.Kind)
		}
		c.checkModbus(d, label)
		if d.Poll < Duration(DefaultMinPoll) {
			c.errorf(c.at(&d.Poll, d), "%s: poll %s: want %s or more", label, d.Poll.D(), DefaultMinPoll)
		}
		switch d.CredentialType {
		case "card", "qr", "pin":
		default:
			c.errorf(c.at(&d.CredentialType, d), "%s: credential_type %q: want card, qr or pin", label, d.CredentialType)
		}
		if d.Kind != KindElevator && d.LowestFloor != 0 {
			c.errorf(c.at(&d.LowestFloor), "%s: lowest_floor applies only to elevators", label)
		}
		if kindOK {
			c.checkRules(d.Rules, &d.Rules, d.Kind)
		} else {
			c.checkRules(d.Rules, &d.Rules, "")
		}
		if d.Modbus.URL != "" {
			k := link{d.Modbus.URL, d.Modbus.UnitID}
			if other, dup := units[k]; dup {
				c.errorf(c.at(&d.Modbus.UnitID, &d.Modbus, d), "%s: %s unit %d is already device %q", label, d.Modbus.URL, d.Modbus.UnitID, other)
			} else {
				units[k] = d.ID
			}
		}
		c.resolveProfile(d, label, kindOK)
	}
}

func (c *checker) checkModbus(d *Device, label string) {
	m := &d.Modbus
	at := func(ptr any) *yaml.Node { return c.at(ptr, m, d) }
	scheme := ""
	if m.URL == "" {
		c.errorf(at(&m.URL), "%s: modbus.url is required", label)
	} else {
		var err error
		if scheme, err = checkModbusURL(m.URL); err != nil {
			c.errorf(at(&m.URL), "%s: modbus.url %q: %v", label, m.URL, err)
		}
	}
	serial := scheme == "rtu" || scheme == "rtuovertcp"
	switch {
	case serial && (m.UnitID < 1 || m.UnitID > 247):
		c.errorf(at(&m.UnitID), "%s: modbus.unit_id %d: want 1-247 on a serial bus", label, m.UnitID)
	case m.UnitID < 0 || m.UnitID > 247:
		c.errorf(at(&m.UnitID), "%s: modbus.unit_id %d: want 0-247", label, m.UnitID)
	}
	if m.Timeout <= 0 {
		c.errorf(at(&m.Timeout), "%s: modbus.timeout must be more than 0", label)
	}
	if m.Retries != nil && (*m.Retries < 0 || *m.Retries > 10) {
		c.errorf(at(&m.Retries), "%s: modbus.retries %d: want 0-10", label, *m.Retries)
	}
	if m.MaxBackoff < m.Timeout {
		c.errorf(at(&m.MaxBackoff), "%s: modbus.max_backoff %s: want at least the timeout (%s)", label, m.MaxBackoff.D(), m.Timeout.D())
	}
	if m.OfflineAfter < 1 {
		c.errorf(at(&m.OfflineAfter), "%s: modbus.offline_after %d: want 1 or more", label, m.OfflineAfter)
	}
	if m.MaxGap != nil && (*m.MaxGap < 0 || *m.MaxGap > 120) {
		c.errorf(at(&m.MaxGap), "%s: modbus.max_gap %d: want 0-120", label, *m.MaxGap)
	}
}

// resolveProfile loads the device's profile (once per reference) into
// Resolved and checks it fits the device's kind.
func (c *checker) resolveProfile(d *Device, label string, kindOK bool) {
	at := c.at(&d.Profile, d)
	if d.Profile == "" {
		if !kindOK {
			return // the kind's problem says it all
		}
		c.errorf(at, "%s: profile must not be empty", label)
		return
	}
	key := d.Profile
	if !filepath.IsAbs(key) && !isBuiltinRef(key) {
		key = filepath.Join(c.baseDir, key)
	}
	res, seen := c.profiles[key]
	if !seen {
		res.prof, res.err = LoadProfile(d.Profile, c.baseDir)
		c.profiles[key] = res
		c.profileOrder = append(c.profileOrder, key)
	}
	switch {
	case res.err != nil:
		var list ErrorList
		if errors.As(res.err, &list) {
			c.errorf(at, "%s: profile %q has problems (listed below)", label, d.Profile)
		} else {
			c.errorf(at, "%s: %v", label, res.err)
		}
	case kindOK && res.prof.Kind != d.Kind:
		c.errorf(at, "%s: profile %q is for %s, not %s", label, d.Profile, article(res.prof.Kind), article(d.Kind))
	default:
		d.Resolved = res.prof
	}
}

func isBuiltinRef(ref string) bool { return strings.HasPrefix(ref, BuiltinPrefix) }
