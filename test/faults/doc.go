// Package faults holds integration tests of the whole gateway under faults:
// misbehaving Modbus devices, a broker that restarts, refuses connections or
// never answers, and a full disk under state_dir. Every test runs the real
// gateway (gateway.New and Run) against real Mosquitto, the Modbus
// simulators of drivers/sim and the stand-in platform of internal/platform,
// on 127.0.0.1 and free ports only.
//
// The package has no code of its own; its tests live in package faults_test.
// Run them with:
//
//	go test -race ./test/faults/
package faults
