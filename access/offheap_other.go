//go:build !unix

package access

import "errors"

// mapAnon is not available here: the index stays on the Go heap.
func mapAnon(int) ([]byte, func(), error) {
	return nil, nil, errors.New("no anonymous mappings")
}
