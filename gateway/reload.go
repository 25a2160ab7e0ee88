package gateway

import (
	"reflect"

	"github.com/jusha-ean/edge/configs"
)

// mergeReload returns the config a reload applies: next's devices, rules
// and time zone, with the sections that need a restart kept as they run.
// ignored names those sections where next differs.
func mergeReload(cur, next *configs.Config) (*configs.Config, []string) {
	merged := *cur
	merged.Devices = next.Devices
	merged.Rules = next.Rules
	merged.File = next.File
	var ignored []string
	same := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			ignored = append(ignored, name)
		}
	}
	same("site", cur.Site, next.Site)
	same("gateway", cur.Gateway, next.Gateway)
	same("state_dir", cur.StateDir, next.StateDir)
	same("timezone", cur.Timezone, next.Timezone)
	same("upstream", cur.Upstream, next.Upstream)
	same("telemetry", cur.Telemetry, next.Telemetry)
	same("http", cur.HTTP, next.HTTP)
	// unlock_time applies with the rebuilt controller; keys and signers
	// need a restart.
	same("access.key_file", cur.Access.KeyFile, next.Access.KeyFile)
	same("access.signers", cur.Access.Signers, next.Access.Signers)
	merged.Access.UnlockTime = next.Access.UnlockTime
	return &merged, ignored
}

// pipelineChanged reports whether the rules engine and access controller
// must be rebuilt: a device was added, removed or changed in what they use
// (anything but its link settings), or the rules or unlock time changed.
func pipelineChanged(cur, next *configs.Config) bool {
	if !reflect.DeepEqual(cur.Rules, next.Rules) || cur.Access.UnlockTime != next.Access.UnlockTime ||
		len(cur.Devices) != len(next.Devices) {
		return true
	}
	for i := range cur.Devices {
		a, b := cur.Devices[i], next.Devices[i]
		a.Modbus, b.Modbus = configs.Modbus{}, configs.Modbus{}
		a.Poll, b.Poll = 0, 0
		if !reflect.DeepEqual(a, b) {
			return true
		}
	}
	return false
}
