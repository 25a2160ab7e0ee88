package configs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// docRow is one row of the register table in a built-in profile's header.
type docRow struct {
	table, address, typ string
}

// TestBuiltinProfileDocs checks that the register table in each built-in
// profile's header comment documents every point where it really is, since
// simulators and drivers are written from that table.
func TestBuiltinProfileDocs(t *testing.T) {
	for _, kind := range []string{KindDoor, KindElevator, KindGate} {
		t.Run(kind, func(t *testing.T) {
			data, err := os.ReadFile("profiles/" + kind + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			rows := parseDocTable(string(data))
			prof, err := Builtin(kind)
			if err != nil {
				t.Fatal(err)
			}
			for _, pt := range prof.Points {
				row, ok := rows[pt.Name]
				if !ok {
					t.Errorf("point %s is not in the header table", pt.Name)
					continue
				}
				if row.table != string(pt.Table) {
					t.Errorf("point %s: header says table %s, profile %s", pt.Name, row.table, pt.Table)
				}
				if want := docAddress(pt); row.address != want {
					t.Errorf("point %s: header says address %q, want %q", pt.Name, row.address, want)
				}
				if row.typ != string(pt.Type) {
					t.Errorf("point %s: header says type %s, profile %s", pt.Name, row.typ, pt.Type)
				}
			}
			if len(rows) != len(prof.Points) {
				t.Errorf("header documents %d points, profile has %d", len(rows), len(prof.Points))
			}
		})
	}
}

// docAddress is how the header writes a point's address: "11-12" for a
// span, "bit 3" for a bit inside the register of the row above.
func docAddress(pt Point) string {
	if pt.Bit != nil {
		return "bit " + strconv.Itoa(*pt.Bit)
	}
	size := pt.Elements()
	if !pt.Table.IsBits() {
		size *= pt.Registers()
	}
	if size == 1 {
		return strconv.Itoa(int(pt.Address))
	}
	return fmt.Sprintf("%d-%d", pt.Address, int(pt.Address)+size-1)
}

// parseDocTable reads "# | table | address | type | point | meaning |"
// rows; a row with an empty table continues the one above.
func parseDocTable(src string) map[string]docRow {
	rows := map[string]docRow{}
	var lastTable string
	for _, line := range strings.Split(src, "\n") {
		line, ok := strings.CutPrefix(line, "# |")
		if !ok {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 {
			continue
		}
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		table, address, typ, point := cols[0], cols[1], cols[2], cols[3]
		if table == "table" || strings.HasPrefix(table, "---") {
			continue
		}
		if table == "" {
			table = lastTable
		} else {
			lastTable = table
		}
		if point == "" || strings.HasSuffix(point, "*") {
			continue
		}
		rows[point] = docRow{table: table, address: address, typ: typ}
	}
	return rows
}
