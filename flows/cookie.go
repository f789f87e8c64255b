package flows

import "fmt"

// Cookie marks every flow with its owner, so that flows can be counted,
// dumped and deleted per owner with `cookie=VALUE/MASK`:
//
//	| 0x0e (ovsnet) 8 bits | category 8 bits | reserved 16 bits | object 32 bits |
//
// The object is a network's VNI for network-scoped categories and a peer's
// IPv4 address for CategoryPeer; VNIs are below 2^24 and unicast addresses
// above it, so the two never collide.
type Cookie uint64

// Category says what kind of object owns a flow.
type Category uint8

const (
	// CategoryPipeline flows exist on every host: table misses, egress port.
	CategoryPipeline Category = 1
	// CategoryNetwork flows exist once per network present on the host.
	CategoryNetwork Category = 2
	// CategoryEndpoint flows belong to a local endpoint.
	CategoryEndpoint Category = 3
	// CategoryRemote flows point at an endpoint on another host.
	CategoryRemote Category = 4
	// CategoryPeer flows admit tunnel traffic from one other host.
	CategoryPeer Category = 5
)

func (c Category) String() string {
	switch c {
	case CategoryPipeline:
		return "pipeline"
	case CategoryNetwork:
		return "network"
	case CategoryEndpoint:
		return "endpoint"
	case CategoryRemote:
		return "remote"
	case CategoryPeer:
		return "peer"
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

const cookieOwner = 0x0e

// OwnerMask selects every flow ovsnet owns.
const OwnerMask Cookie = 0xff << 56

// OwnerCookie is the value OwnerMask must match.
const OwnerCookie Cookie = cookieOwner << 56

// NewCookie builds the cookie of a flow owned by obj in category c.
func NewCookie(c Category, obj uint32) Cookie {
	return Cookie(uint64(cookieOwner)<<56 | uint64(c)<<48 | uint64(obj))
}

// NetworkMask selects the flows of one network whatever their category:
// match NetworkCookie(vni) under NetworkMask.
const NetworkMask Cookie = 0xff<<56 | 0xffffffff

// NetworkCookie is the cookie value shared by all flows of network vni.
func NetworkCookie(vni uint32) Cookie { return Cookie(uint64(cookieOwner)<<56 | uint64(vni)) }

// Category of the cookie.
func (c Cookie) Category() Category { return Category(c >> 48) }

// Object of the cookie: a VNI or a peer address.
func (c Cookie) Object() uint32 { return uint32(c) }

// Owned says whether ovsnet wrote the flow.
func (c Cookie) Owned() bool { return c&OwnerMask == OwnerCookie }

func (c Cookie) String() string { return fmt.Sprintf("%#x", uint64(c)) }
