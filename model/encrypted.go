package model

// OptEncrypted is Docker's request for an IPsec-encrypted overlay
// (docker network create -o encrypted). ovsnet does not encrypt its
// tunnels, so it refuses the option rather than store a promise it does
// not keep.
const OptEncrypted = "encrypted"

// EncryptionRefused says why OptEncrypted is refused, and what to do
// instead.
const EncryptionRefused = `option "encrypted" is not supported: ovsnet does not encrypt the overlay, and its VXLAN traffic (UDP 4789) crosses the underlay in clear text. ` +
	`Keep the underlay on a network you trust, or encrypt between hosts below ovsnet (WireGuard or IPsec between the hosts' underlay addresses, ` +
	`used as the agents' -tunnel-ip); see docs/security.md`
