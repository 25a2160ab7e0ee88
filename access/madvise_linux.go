package access

import "syscall"

// dropMapped advises the kernel that the n mapped bytes at addr are not
// needed: the process stops mapping them; a later read faults them back
// in from the page cache, unchanged (the mapping is shared and read-only).
func dropMapped(addr, n uintptr) error {
	if n == 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
