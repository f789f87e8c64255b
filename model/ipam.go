package model

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
)

// Address management is pure: callers pass the addresses in use and store the
// result atomically themselves (the controller does both in one Consul
// transaction, so two controllers never hand out the same address).

// ErrPoolExhausted is returned when a subnet or range has no free address.
var ErrPoolExhausted = errors.New("no available IP addresses on this network's address pools")

// overlayPools are Docker's global default pools: 10.0.0.0/8 cut into /24s.
func overlayPools(yield func(netip.Prefix) bool) {
	for i := 0; i < 1<<16; i++ {
		if !yield(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)) {
			return
		}
	}
}

// bridgePools are Docker's local default pools after docker0's 172.17.0.0/16:
// 172.18.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 cut into /20s.
func bridgePools(yield func(netip.Prefix) bool) {
	for b := 18; b <= 31; b++ {
		if !yield(netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(b), 0, 0}), 16)) {
			return
		}
	}
	for c := 0; c < 256; c += 16 {
		if !yield(netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(c), 0}), 20)) {
			return
		}
	}
}

// DefaultSubnet picks the first default pool of the driver that overlaps
// none of the subnets already taken.
func DefaultSubnet(d Driver, taken []netip.Prefix) (netip.Prefix, error) {
	p, _, err := DefaultSubnetFrom(d, taken, 0)
	return p, err
}

// DefaultSubnetFrom is DefaultSubnet starting at the from-th default pool
// (those before it are known to be taken); it also returns the chosen
// pool's position, a caller's hint for the next search. Finding the next
// pool then costs one pass over the taken subnets, not one per pool tried.
func DefaultSubnetFrom(d Driver, taken []netip.Prefix, from int) (netip.Prefix, int, error) {
	pools := overlayPools
	if d == DriverBridge {
		pools = bridgePools
	}
	// The taken subnets that can overlap a default pool at all.
	var near []netip.Prefix
	for _, t := range taken {
		if t.IsValid() {
			near = append(near, t)
		}
	}
	i := 0
	for p := range pools {
		if i >= from && !overlapsAny(p, near) {
			return p, i, nil
		}
		i++
	}
	return netip.Prefix{}, i, fmt.Errorf("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

// DefaultSubnet6 derives a unique-local /64 (fd00::/8) from the network id,
// so IPv6 works without the user picking a subnet.
func DefaultSubnet6(networkID string) netip.Prefix {
	sum := sha256.Sum256([]byte(networkID))
	var b [16]byte
	b[0] = 0xfd
	copy(b[1:8], sum[:7])
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

func overlapsAny(p netip.Prefix, taken []netip.Prefix) bool {
	for _, t := range taken {
		if t.IsValid() && t.Overlaps(p) {
			return true
		}
	}
	return false
}

// Overlaps reports the first of taken that p overlaps.
func Overlaps(p netip.Prefix, taken []netip.Prefix) (netip.Prefix, bool) {
	for _, t := range taken {
		if t.IsValid() && t.Overlaps(p) {
			return t, true
		}
	}
	return netip.Prefix{}, false
}

// FirstHost is the first usable address of p: Docker's default gateway.
func FirstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	b := a.AsSlice()
	hostBits := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		b[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// Reserved says whether a is an address no endpoint may take on a subnet
// with gateway gw: the subnet address, the IPv4 broadcast and the gateway.
func Reserved(subnet netip.Prefix, gw, a netip.Addr) bool {
	if a == subnet.Masked().Addr() || a == gw {
		return true
	}
	return a.Is4() && a == lastAddr(subnet)
}

// AllocateLowest returns the lowest free address of subnet (within rng when
// rng is valid), skipping reserved and used addresses.
func AllocateLowest(subnet, rng netip.Prefix, gw netip.Addr, used map[netip.Addr]bool) (netip.Addr, error) {
	span := subnet
	if rng.IsValid() {
		span = rng
	}
	// Bounded: even a /64 stops after len(used)+3 candidates, since every
	// address skipped is reserved or used.
	for a := span.Masked().Addr(); span.Contains(a); a = a.Next() {
		if Reserved(subnet, gw, a) || used[a] {
			continue
		}
		return a, nil
	}
	return netip.Addr{}, ErrPoolExhausted
}

// CheckPreferred validates a user's --ip/--ip6 choice against a network, with
// Docker's wording for an address outside every subnet.
func CheckPreferred(n *Network, a netip.Addr) error {
	if !a.IsValid() {
		return nil
	}
	var subnet netip.Prefix
	var gw netip.Addr
	switch {
	case a.Is4() && n.Subnet.Contains(a):
		subnet, gw = n.Subnet, n.Gateway
	case a.Is6() && n.EnableIPv6 && n.Subnet6.Contains(a):
		subnet, gw = n.Subnet6, n.Gateway6
	default:
		return fmt.Errorf("Invalid preferred address %s: It does not belong to any of this network's subnets", a)
	}
	if Reserved(subnet, gw, a) {
		what := "the network address"
		if a == gw {
			what = "the gateway"
		} else if a.Is4() && a == lastAddr(subnet) {
			what = "the broadcast address"
		}
		return fmt.Errorf("Invalid preferred address %s: it is %s of network %s", a, what, n.Name)
	}
	return nil
}
