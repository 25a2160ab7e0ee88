package drivers_test

import (
	"fmt"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/drivers"
)

func ExampleDecode() {
	// A battery voltage in hundredths of a volt, and a 32-bit counter whose
	// low word comes first.
	volts := configs.Point{Name: "battery_volts", Table: configs.TableInput, Type: configs.TypeInt16, Scale: 0.01}
	trips := configs.Point{Name: "trip_count", Table: configs.TableInput, Type: configs.TypeUint32, WordOrder: configs.OrderLittle}
	v, _ := drivers.Decode(volts, []uint16{1234})
	n, _ := drivers.Decode(trips, []uint16{0x0002, 0x0001})
	fmt.Println(v.Num, n.Uint)
	_, err := drivers.Decode(trips, []uint16{1})
	fmt.Println(err)
	// Output:
	// 12.34 65538
	// point codec: point "trip_count": need 2 registers, got 1
}

func ExampleEncode() {
	setpoint := configs.Point{Name: "setpoint", Table: configs.TableHolding, Type: configs.TypeInt16, Scale: 0.1, Writable: true}
	regs, _ := drivers.Encode(setpoint, drivers.FloatValue(-2.5))
	fmt.Printf("%#04x\n", regs)
	// Output: [0xffe7]
}
