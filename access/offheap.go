package access

import (
	"runtime"
	"unsafe"
)

// The index's two big arrays, the credential keys and the slots, live
// outside the Go heap where the system allows it. They hold no pointers,
// so the collector need not see them; and memory it does not see does not
// raise its heap goal, which with the default GOGC lets garbage grow to
// the size of the live heap: on the heap, a 100,000-entry index costs its
// own size twice in resident memory, outside it once (issue 8). The
// mapping is returned when the table becomes unreachable; readers keep the
// table alive while they read (runtime.KeepAlive), and nothing they return
// points into it.

// moveOffHeap copies the table's keys and slots into one anonymous
// mapping and arranges for it to be unmapped with the table. If the
// mapping fails, they stay on the heap.
func moveOffHeap(t *table) {
	keysLen := len(t.keys) * int(unsafe.Sizeof(credKey{}))
	slotsLen := len(t.slots) * int(unsafe.Sizeof(slot{}))
	// slots first: 8-byte aligned at the page start; keys need 4.
	size := slotsLen + keysLen
	if size == 0 {
		return
	}
	b, unmap, err := mapAnon(size)
	if err != nil {
		return
	}
	var slots []slot
	var keys []credKey
	if len(t.slots) > 0 {
		slots = unsafe.Slice((*slot)(unsafe.Pointer(&b[0])), len(t.slots))
		copy(slots, t.slots)
	}
	if len(t.keys) > 0 {
		keys = unsafe.Slice((*credKey)(unsafe.Pointer(&b[slotsLen])), len(t.keys))
		copy(keys, t.keys)
	}
	t.slots, t.keys = slots, keys
	runtime.AddCleanup(t, func(unmap func()) { unmap() }, unmap)
}
