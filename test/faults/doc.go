// Package faults holds integration tests of the whole gateway under faults:
// misbehaving Modbus devices (on their own addresses and on a shared link),
// a broker that restarts, refuses connections or never answers, and a full
// disk under state_dir. Every test runs the real gateway (gateway.New and
// Run) against real Mosquitto, the Modbus simulators of drivers/sim and the
// stand-in platform of internal/platform, on 127.0.0.1 and free ports only.
//
// The package has no code of its own; its tests live in package faults_test.
// Run them with:
//
//	go test -race ./test/faults/
//
// The disk-full tests mount a 1 MiB tmpfs: they need root (CAP_SYS_ADMIN)
// and skip, saying why, where that is not possible and under CI=true.
package faults
