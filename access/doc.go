// Package access holds the delivery-rider whitelist and decides, on the spot
// and offline too, whether a credential read at a door, lift or gate opens it.
//
// The contract, in order of how data flows:
//
//   - Credentials are never held in the clear. A reader's value is hashed as
//     HMAC-SHA256(site key, type + ":" + value) (see [HashCredential]) and only
//     that hash is compared, stored or (as a short prefix) reported.
//   - The whitelist lives in a bbolt file under the state dir ([Open]) with an
//     in-memory index for decisions. It changes only through signed updates
//     ([Store.ApplySigned]): Ed25519 over the payload bytes, applied in one
//     transaction, all or nothing, and swapped into memory after the commit.
//   - [Store.Decide] answers granted or denied with a reason (unknown,
//     expired, not_yet_valid, schedule, scope, revoked, usage_limit) in
//     microseconds without allocating on the grant path.
//   - [Controller] watches readings for a changed credential_seq, decides and
//     actuates (pulse unlock, enable lift floors, pulse open) through an
//     [Actuator], and emits access.granted / access.denied events. It also
//     serves IP readers ([NewAPIHandler]) and signed remote opens
//     ([Controller.HandleOpen]).
package access
