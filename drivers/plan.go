package drivers

import (
	"slices"

	"github.com/jusha-ean/edge/configs"
)

// block is one read request: a range of one table and the points it holds.
type block struct {
	table configs.Table
	start uint16
	count uint16 // registers, or bits in the bit tables
	// points are indexes into the device's points, in address order.
	points []int
}

var tableOrder = map[configs.Table]int{
	configs.TableCoil: 0, configs.TableDiscreteInput: 1, configs.TableHolding: 2, configs.TableInput: 3,
}

// planBlocks merges the points (indexes into points) into as few requests as
// possible: same table, at most 125 registers or 2000 bits per request, and
// at most maxGap unused registers bridged between two points (maxGap*16
// unused bits in the bit tables, which cost the same bytes on the wire).
func planBlocks(points []configs.Point, idx []int, maxGap int) []block {
	idx = slices.Clone(idx)
	slices.SortStableFunc(idx, func(a, b int) int {
		pa, pb := points[a], points[b]
		if d := tableOrder[pa.Table] - tableOrder[pb.Table]; d != 0 {
			return d
		}
		return int(pa.Address) - int(pb.Address)
	})
	var out []block
	var end int // one past the last address of the current block
	for _, i := range idx {
		p := points[i]
		pend := int(p.Address) + Span(p)
		gap, limit := maxGap, maxRegisters
		if p.Table.IsBits() {
			gap, limit = maxGap*16, maxBits
		}
		if n := len(out); n > 0 {
			b := &out[n-1]
			newEnd := max(end, pend)
			if b.table == p.Table && int(p.Address) <= end+gap && newEnd-int(b.start) <= limit {
				b.points = append(b.points, i)
				end = newEnd
				b.count = uint16(end - int(b.start))
				continue
			}
		}
		out = append(out, block{table: p.Table, start: p.Address, count: uint16(Span(p)), points: []int{i}})
		end = pend
	}
	return out
}

// splitBlock breaks a block the device refused into smaller ones: first at
// its gaps (the unused registers it bridged are the likely culprits), then in
// halves. A block of one point cannot be split and gives nil.
func splitBlock(points []configs.Point, b block) []block {
	if len(b.points) < 2 {
		return nil
	}
	if runs := planBlocks(points, b.points, 0); len(runs) > 1 {
		return runs
	}
	half := len(b.points) / 2
	return append(planBlocks(points, b.points[:half], 0), planBlocks(points, b.points[half:], 0)...)
}

// offset returns where point p lies within the data a block read.
func (b block) offset(p configs.Point) (from, to int) {
	from = int(p.Address) - int(b.start)
	return from, from + Span(p)
}
