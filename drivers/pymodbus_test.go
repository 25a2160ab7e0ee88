package drivers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jusha-ean/edge/configs"
	"github.com/jusha-ean/edge/internal/testbed"
)

// pyServer serves the points of argv[3] (JSON) from pymodbus 3.0, over TCP
// (argv[1] "tcp", argv[2] the port) or RTU (argv[1] "rtu", argv[2] the
// serial device; argv[4] is touched once the port is open). The registers
// are built by pymodbus's own BinaryPayloadBuilder, so the test checks our
// word and byte orders against an encoder we did not write.
const pyServer = `
import asyncio, json, sys, logging
from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartAsyncTcpServer, StartAsyncSerialServer
from pymodbus.transaction import ModbusRtuFramer

logging.basicConfig(level=logging.ERROR)
mode, where, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
SIZE = 300
units = {}
for p in spec:
    u = units.setdefault(p["unit"], {"co": [False]*SIZE, "di": [False]*SIZE, "hr": [0]*SIZE, "ir": [0]*SIZE})
    t, a, typ, v = p["table"], p["addr"], p["type"], p["value"]
    if t in ("co", "di"):
        for i, b in enumerate(v if isinstance(v, list) else [v]):
            u[t][a+i] = bool(b)
        continue
    if typ == "bool":
        if v:
            u[t][a] |= 1 << p["bit"]
        continue
    b = BinaryPayloadBuilder(byteorder=Endian.Little if p["byte"] == "little" else Endian.Big,
                             wordorder=Endian.Little if p["word"] == "little" else Endian.Big)
    {"int16": b.add_16bit_int, "uint16": b.add_16bit_uint, "int32": b.add_32bit_int,
     "uint32": b.add_32bit_uint, "float32": b.add_32bit_float, "int64": b.add_64bit_int,
     "uint64": b.add_64bit_uint, "string": b.add_string}[typ](v)
    regs = b.to_registers()
    u[t][a:a+len(regs)] = regs

slaves = {unit: ModbusSlaveContext(zero_mode=True,
            co=ModbusSequentialDataBlock(0, m["co"]), di=ModbusSequentialDataBlock(0, m["di"]),
            hr=ModbusSequentialDataBlock(0, m["hr"]), ir=ModbusSequentialDataBlock(0, m["ir"]))
          for unit, m in units.items()}
ctx = ModbusServerContext(slaves=slaves, single=False)

async def main():
    if mode == "tcp":
        await StartAsyncTcpServer(context=ctx, address=("127.0.0.1", int(where)))
        return
    server = await StartAsyncSerialServer(context=ctx, framer=ModbusRtuFramer, port=where,
                                          baudrate=int(sys.argv[5]), bytesize=8, parity="N", stopbits=1,
                                          defer_start=True)
    await server.start()
    open(sys.argv[4], "w").close()
    await server.serve_forever()

asyncio.run(main())
`

// pySpec is one point as the pymodbus script builds it.
type pySpec struct {
	Unit  int    `json:"unit"`
	Table string `json:"table"`
	Addr  int    `json:"addr"`
	Type  string `json:"type"`
	Word  string `json:"word"`
	Byte  string `json:"byte"`
	Bit   int    `json:"bit"`
	Value any    `json:"value"`
}

// interopCase is a point, the value pymodbus is given and what we must read.
type interopCase struct {
	point configs.Point
	value func(unit int) any
	check func(v Value, unit int) error
}

func interopCases() []interopCase {
	var cs []interopCase
	exactInt := func(want func(int) int64) func(Value, int) error {
		return func(v Value, u int) error {
			if v.Int != want(u) {
				return fmt.Errorf("Int = %d, want %d", v.Int, want(u))
			}
			return nil
		}
	}
	exactUint := func(want func(int) uint64) func(Value, int) error {
		return func(v Value, u int) error {
			if v.Uint != want(u) {
				return fmt.Errorf("Uint = %d, want %d", v.Uint, want(u))
			}
			return nil
		}
	}
	num := func(want func(int) float64) func(Value, int) error {
		return func(v Value, u int) error {
			if math.Abs(v.Num-want(u)) > 1e-6 {
				return fmt.Errorf("Num = %v, want %v", v.Num, want(u))
			}
			return nil
		}
	}
	i16 := func(u int) int64 { return -1234 - int64(u) }
	u16 := func(u int) uint64 { return 54321 + uint64(u) }
	i32 := func(u int) int64 { return -123456789 - int64(u) }
	u32 := func(u int) uint64 { return 3000000000 + uint64(u) }
	f32 := func(u int) float64 { return 21.5 + float64(u) }
	i64 := func(u int) int64 { return -1234567890123456 - int64(u) }
	u64 := func(u int) uint64 { return 18000000000000000000 + uint64(u) }
	orders := []struct{ table, word, byte string }{
		{"hr", "big", "big"}, {"hr", "little", "big"}, {"ir", "little", "little"}, {"ir", "big", "little"},
	}
	next := map[string]uint16{"hr": 0, "ir": 0}
	for _, o := range orders {
		table := configs.TableHolding
		if o.table == "ir" {
			table = configs.TableInput
		}
		add := func(typ configs.Type, value func(int) any, check func(Value, int) error) {
			p := configs.Point{Name: fmt.Sprintf("%s_%s_w%s_b%s", o.table, typ, o.word, o.byte), Table: table,
				Address: next[o.table], Type: typ, WordOrder: configs.Order(o.word), ByteOrder: configs.Order(o.byte)}
			next[o.table] += uint16(p.Registers())
			cs = append(cs, interopCase{point: p, value: value, check: check})
		}
		add(configs.TypeInt16, func(u int) any { return i16(u) }, exactInt(i16))
		add(configs.TypeUint16, func(u int) any { return u16(u) }, exactUint(u16))
		add(configs.TypeInt32, func(u int) any { return i32(u) }, exactInt(i32))
		add(configs.TypeUint32, func(u int) any { return u32(u) }, exactUint(u32))
		add(configs.TypeFloat32, func(u int) any { return f32(u) }, num(f32))
		add(configs.TypeInt64, func(u int) any { return i64(u) }, exactInt(i64))
		add(configs.TypeUint64, func(u int) any { return u64(u) }, exactUint(u64))
	}
	a := next["hr"]
	cs = append(cs,
		interopCase{point: configs.Point{Name: "label", Table: configs.TableHolding, Address: a, Type: configs.TypeString, Length: 5},
			value: func(u int) any { return "GATE-" + strconv.Itoa(u) },
			check: func(v Value, u int) error {
				if v.Str != "GATE-"+strconv.Itoa(u) {
					return fmt.Errorf("Str = %q", v.Str)
				}
				return nil
			}},
		interopCase{point: configs.Point{Name: "volts", Table: configs.TableHolding, Address: a + 5, Type: configs.TypeInt16, Scale: 0.1, Offset: 1},
			value: func(u int) any { return 120 + u }, check: num(func(u int) float64 { return 12 + 0.1*float64(u) + 1 })},
		interopCase{point: configs.Point{Name: "tamper", Table: configs.TableHolding, Address: a + 6, Type: configs.TypeBool, Bit: bitp(5)},
			value: func(u int) any { return u%2 == 1 }, check: num(func(u int) float64 { return float64(u % 2) })},
		interopCase{point: configs.Point{Name: "setpoint", Table: configs.TableHolding, Address: a + 7, Type: configs.TypeUint16, Writable: true},
			value: func(int) any { return 0 }, check: num(func(int) float64 { return 0 })},
		interopCase{point: configs.Point{Name: "door_open", Table: configs.TableDiscreteInput, Address: 3, Type: configs.TypeBool},
			value: func(u int) any { return u != 2 }, check: num(func(u int) float64 { return map[bool]float64{true: 1}[u != 2] })},
		interopCase{point: configs.Point{Name: "open", Table: configs.TableCoil, Address: 0, Type: configs.TypeBool, Writable: true},
			value: func(int) any { return false }, check: num(func(int) float64 { return 0 })},
		interopCase{point: configs.Point{Name: "floor_enable", Table: configs.TableCoil, Address: 4, Type: configs.TypeBool, Count: 12, Writable: true},
			value: func(u int) any { return []bool{u == 1, true} },
			check: func(v Value, u int) error {
				if len(v.List) != 12 || v.List[0].Bool() != (u == 1) || !v.List[1].Bool() || v.List[2].Bool() {
					return fmt.Errorf("List = %+v", v.List)
				}
				return nil
			}},
	)
	return cs
}

func interopSpec(cs []interopCase, units []int) string {
	var spec []pySpec
	tables := map[configs.Table]string{configs.TableCoil: "co", configs.TableDiscreteInput: "di", configs.TableHolding: "hr", configs.TableInput: "ir"}
	for _, u := range units {
		for _, c := range cs {
			s := pySpec{Unit: u, Table: tables[c.point.Table], Addr: int(c.point.Address), Type: string(c.point.Type),
				Word: string(c.point.WordOrder), Byte: string(c.point.ByteOrder), Value: c.value(u)}
			if c.point.Bit != nil {
				s.Bit = *c.point.Bit
			}
			spec = append(spec, s)
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// checkInterop runs a Manager over devices on url (one per unit), checks
// every point of every unit, then writes and reads back through pymodbus.
func checkInterop(t *testing.T, url string, units []int, timeout time.Duration) {
	cs := interopCases()
	prof := &configs.Profile{Kind: configs.KindGate, Name: "interop"}
	for _, c := range cs {
		prof.Points = append(prof.Points, c.point)
	}
	var devs []configs.Device
	for _, u := range units {
		d := testDevice(fmt.Sprintf("gate-%d", u), url, u, prof)
		d.Modbus.Timeout = configs.Duration(timeout)
		devs = append(devs, d)
	}
	m, err := NewManager(devs, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.links) != 1 {
		t.Fatalf("%d links, want one shared by the units", len(m.links))
	}
	rec := newRecorder()
	stop := runManager(t, m, rec.sink)
	for _, u := range units {
		id := fmt.Sprintf("gate-%d", u)
		r := rec.waitFor(t, "good from "+id, func(r Reading) bool { return r.Device == id && r.Quality == Good })
		for _, c := range cs {
			v, ok := r.Get(c.point.Name)
			if !ok {
				t.Errorf("%s: %s missing", id, c.point.Name)
				continue
			}
			if err := c.check(v, u); err != nil {
				t.Errorf("%s: %s: %v", id, c.point.Name, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := fmt.Sprintf("gate-%d", units[0])
	if err := m.Write(ctx, id, "setpoint", UintValue(4321)); err != nil {
		t.Fatalf("Write setpoint: %v", err)
	}
	if err := m.Write(ctx, id, "open", BoolValue(true)); err != nil {
		t.Fatalf("Write open: %v", err)
	}
	floors := make([]bool, 12)
	floors[11] = true
	if err := m.WriteBools(ctx, id, "floor_enable", floors); err != nil {
		t.Fatalf("WriteBools: %v", err)
	}
	rec.waitFor(t, "with the writes", func(r Reading) bool {
		fl, _ := r.Get("floor_enable")
		return r.Device == id && r.Quality == Good && r.Num("setpoint") == 4321 && r.Bool("open") &&
			len(fl.List) == 12 && fl.List[11].Bool() && !fl.List[1].Bool()
	})
	stop()
	for _, st := range m.Stats() {
		if st.Polls == 0 || st.Failures != 0 {
			t.Errorf("stats %+v", st)
		}
	}
}

func TestPymodbusTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts pymodbus")
	}
	units := []int{1, 2}
	port := testbed.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testbed.PythonScript(t, pyServer, port, testbed.DialReady(addr), "tcp", strconv.Itoa(port), interopSpec(interopCases(), units))
	checkInterop(t, "tcp://"+addr, units, time.Second)
}

// startPtyPair links two fresh ptys with socat and returns their paths.
func startPtyPair(t *testing.T) (a, b string) {
	socat := testbed.Need(t, "socat")
	dir := t.TempDir()
	a, b = filepath.Join(dir, "A"), filepath.Join(dir, "B")
	testbed.Start(t, 0, func() error {
		for _, p := range []string{a, b} {
			if _, err := os.Stat(p); err != nil {
				return err
			}
		}
		return nil
	}, 5*time.Second, socat, "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	return a, b
}

func TestPymodbusRTU(t *testing.T) {
	if testing.Short() {
		t.Skip("starts pymodbus and socat")
	}
	units := []int{1, 2, 3}
	a, b := startPtyPair(t)
	ready := filepath.Join(t.TempDir(), "ready")
	testbed.PythonScript(t, pyServer, 0, func() error { _, err := os.Stat(ready); return err },
		"rtu", b, interopSpec(interopCases(), units), ready, "115200")
	checkInterop(t, "rtu://"+a+"?baud=115200&parity=N&stop_bits=1&data_bits=8", units, time.Second)
}
