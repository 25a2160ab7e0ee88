// Package access holds the delivery-rider whitelist and decides, on the spot
// and offline too, whether a credential read at a door, lift or gate opens it.
//
// The contract, in order of how data flows:
//
//   - Credentials are never held in the clear. A reader's value is hashed as
//     HMAC-SHA256(site key, type + ":" + value) (see [HashCredential]) and only
//     that hash is compared, stored or (as a short prefix) reported.
//   - The whitelist lives in a bbolt file under the state dir ([Open]):
//     entries by id and a bucket from credential hash to entry id. Opening
//     it reads only the meta data; [Store.Run] builds a compact in-memory
//     index in the background, and until it is ready decisions read the
//     file in place. It changes only through signed updates
//     ([Store.ApplySigned]): Ed25519 over the payload bytes, applied in one
//     transaction, all or nothing; decisions see the old version whole
//     until the commit and the new one whole after it (the index is
//     swapped whole after the commit).
//   - [Store.Decide] answers granted or denied with a reason (unknown,
//     expired, not_yet_valid, schedule, scope, revoked, usage_limit) in
//     microseconds, without allocating once the index serves it.
//   - [Controller] watches readings for a changed credential_seq, decides and
//     actuates (pulse unlock, enable lift floors, pulse open) through an
//     [Actuator], and emits access.granted / access.denied events. It also
//     serves IP readers ([NewAPIHandler]) and signed remote opens
//     ([Controller.HandleOpen]).
package access
