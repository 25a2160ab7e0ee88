package access_test

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/jusha-ean/edge/access"
)

// The platform hashes a rider's QR code with the site key; the gateway
// hashes what the reader read the same way and compares hashes only.
func ExampleHashCredential() {
	siteKey := bytes.Repeat([]byte{0x42}, access.SiteKeySize)
	h := access.HashCredential(siteKey, access.TypeQR, "QR-RIDER-8812")
	fmt.Println(hex.EncodeToString(h[:]) == hex.EncodeToString(func() []byte {
		v := access.NewHasher(siteKey).Hash(access.TypeQR, "QR-RIDER-8812")
		return v[:]
	}()))
	// Output: true
}
