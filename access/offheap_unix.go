//go:build unix

package access

import "syscall"

// mapAnon returns n zeroed bytes of private anonymous memory, outside the
// Go heap, and the function that unmaps them.
func mapAnon(n int) ([]byte, func(), error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { _ = syscall.Munmap(b) }, nil
}
