package access

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/jusha-ean/edge/configs"
)

// Rejection reasons of whitelist.rejected (and of refused remote opens).
const (
	RejectBadSignature = "bad_signature"
	RejectUnknownKey   = "unknown_key"
	RejectWrongSite    = "wrong_site"
	RejectStale        = "stale_version"
	RejectBaseMismatch = "base_mismatch"
	RejectMalformed    = "malformed"
	RejectExpired      = "expired"
	RejectReplayed     = "replayed"
	RejectUnknownDev   = "unknown_device"
)

// Rejection is why a signed command was refused. Nothing changed.
type Rejection struct {
	Reason string
	Detail string
	// Version is the document's version when it could be read.
	Version uint64
}

// Error reads "rejected: REASON: DETAIL".
func (r *Rejection) Error() string {
	if r.Detail == "" {
		return "rejected: " + r.Reason
	}
	return "rejected: " + r.Reason + ": " + r.Detail
}

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Envelope is a signed command as it arrives on P/cmd/whitelist or
// P/cmd/open: Sig is Ed25519 over the exact Payload bytes.
type Envelope struct {
	KeyID   string `json:"key_id"`
	Payload string `json:"payload"`
	Sig     string `json:"sig"`
}

// ParseSigners decodes the configured signer keys (raw 32-byte Ed25519
// public keys in standard base64).
func ParseSigners(list []configs.Signer) (map[string]ed25519.PublicKey, error) {
	out := make(map[string]ed25519.PublicKey, len(list))
	for i, sg := range list {
		if sg.ID == "" {
			return nil, fmt.Errorf("access.signers[%d]: empty id", i)
		}
		if _, dup := out[sg.ID]; dup {
			return nil, fmt.Errorf("access.signers[%d]: duplicate id %q", i, sg.ID)
		}
		k, err := base64.StdEncoding.DecodeString(sg.PublicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("access.signers[%d] (%s): public_key must be %d bytes in standard base64", i, sg.ID, ed25519.PublicKeySize)
		}
		out[sg.ID] = ed25519.PublicKey(k)
	}
	return out, nil
}

// verifyEnvelope checks an envelope against the signers and returns the
// signed payload.
func verifyEnvelope(signers map[string]ed25519.PublicKey, b []byte) ([]byte, string, *Rejection) {
	env, err := parseEnvelope(b)
	if err != nil {
		return nil, "", reject(RejectMalformed, "envelope: %v", err)
	}
	if env.KeyID == "" || env.Payload == "" || env.Sig == "" {
		return nil, env.KeyID, reject(RejectMalformed, "envelope: key_id, payload and sig are required")
	}
	key, ok := signers[env.KeyID]
	if !ok {
		return nil, env.KeyID, reject(RejectUnknownKey, "key_id %q is not a configured signer", env.KeyID)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, env.KeyID, reject(RejectMalformed, "payload: not standard base64")
	}
	sig, err := base64.StdEncoding.DecodeString(env.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, env.KeyID, reject(RejectBadSignature, "sig: want %d bytes in standard base64", ed25519.SignatureSize)
	}
	if !ed25519.Verify(key, payload, sig) {
		return nil, env.KeyID, reject(RejectBadSignature, "signature does not verify with key %q", env.KeyID)
	}
	return payload, env.KeyID, nil
}

// SignEnvelope signs payload with priv and returns the envelope JSON.
func SignEnvelope(priv ed25519.PrivateKey, keyID string, payload []byte) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: private key must be %d bytes", ed25519.PrivateKeySize)
	}
	if keyID == "" {
		return nil, fmt.Errorf("sign: empty key id")
	}
	return json.Marshal(Envelope{
		KeyID:   keyID,
		Payload: base64.StdEncoding.EncodeToString(payload),
		Sig:     base64.StdEncoding.EncodeToString(ed25519.Sign(priv, payload)),
	})
}
