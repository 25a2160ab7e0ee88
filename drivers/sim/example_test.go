package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers/sim"
)

// A door controller on a free loopback port, driven by hand: a rider shows a
// card, the gateway releases the lock, the rider walks through.
func Example() {
	profile, err := configs.Builtin("door")
	if err != nil {
		panic(err)
	}
	door, err := sim.New("door", profile, 1)
	if err != nil {
		panic(err)
	}
	door.ManualClock() // the example drives time itself
	ctx, cancel := context.WithCancel(context.Background())
	defer door.Wait()
	defer cancel()
	addr, err := door.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}

	client, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: time.Second})
	if err != nil {
		panic(err)
	}
	if err := client.Open(); err != nil {
		panic(err)
	}
	defer client.Close()

	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	door.Step(now)
	_ = door.Present("12345678")
	_ = door.WalkThrough() // the rider waits at the locked door
	seq, _ := client.ReadRegister(10, modbus.INPUT_REGISTER)
	fmt.Println("credential_seq:", seq)

	_ = client.WriteCoil(0, true) // the gateway grants: unlock
	door.Step(now.Add(500 * time.Millisecond))
	in, _ := client.ReadDiscreteInputs(0, 2)
	fmt.Println("door_open:", in[0], "lock_released:", in[1])

	door.Step(now.Add(10 * time.Second))
	in, _ = client.ReadDiscreteInputs(0, 2)
	fmt.Println("door_open:", in[0], "lock_released:", in[1])
	fmt.Println("read requests:", door.Requests()[0x02])
	// Output:
	// credential_seq: 1
	// door_open: true lock_released: true
	// door_open: false lock_released: false
	// read requests: 2
}

// A lift controller's scenario: a passenger trapped between floors.
func ExampleSim_Trap() {
	profile, _ := configs.Builtin("elevator")
	lift, _ := sim.New("elevator", profile, 1)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	lift.Step(now)
	_ = lift.Call(6)
	lift.Step(now.Add(4 * time.Second))
	_ = lift.Trap()
	lift.Step(now.Add(5 * time.Minute))
	for _, p := range []string{"moving", "in_door_zone", "door_open", "occupied"} {
		v, _ := lift.Get(p)
		fmt.Println(p, v.Bool())
	}
	// Output:
	// moving false
	// in_door_zone false
	// door_open false
	// occupied true
}
