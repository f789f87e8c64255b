package dns

import (
	"encoding/binary"
	"net/netip"

	"github.com/ovsnet/ovsnet/flows"
)

// Frames on the DNS port (docs/dns.md): table DNS hands the resolver
// Ethernet frames of UDP queries whose destination MAC carries the
// network's VNI; the resolver answers with a frame whose source MAC is that
// same VNI MAC, addressed to the asker's MAC, IP addresses and UDP ports
// swapped. Only untagged IPv4 and IPv6 (without extension headers) are
// taken; fragments are dropped.

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	ipProtoUDP    = 17
	ethHeaderLen  = 14
	udpHeaderLen  = 8
)

// dnsFrame is a query frame: who asked, on which network, and the message.
type dnsFrame struct {
	vni          uint32
	srcMAC       [6]byte
	dstMAC       [6]byte
	src, dst     netip.Addr
	sport, dport uint16
	payload      []byte
}

// headerLen is the length of the reply's Ethernet, IP and UDP headers.
func (f *dnsFrame) headerLen() int {
	if f.src.Is4() {
		return ethHeaderLen + 20 + udpHeaderLen
	}
	return ethHeaderLen + 40 + udpHeaderLen
}

// parseDNSFrame reads a query frame; false for anything else.
func parseDNSFrame(b []byte, f *dnsFrame) bool {
	if len(b) < ethHeaderLen {
		return false
	}
	vni, ok := flows.DNSNetwork(b[0:6])
	if !ok {
		return false
	}
	f.vni = vni
	copy(f.dstMAC[:], b[0:6])
	copy(f.srcMAC[:], b[6:12])
	var udp []byte
	switch binary.BigEndian.Uint16(b[12:]) {
	case etherTypeIPv4:
		ip := b[ethHeaderLen:]
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return false
		}
		ihl := int(ip[0]&0xf) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < 20 || total < ihl || total > len(ip) || ip[9] != ipProtoUDP {
			return false
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return false // a fragment
		}
		f.src = netip.AddrFrom4([4]byte(ip[12:16]))
		f.dst = netip.AddrFrom4([4]byte(ip[16:20]))
		udp = ip[ihl:total]
	case etherTypeIPv6:
		ip := b[ethHeaderLen:]
		if len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != ipProtoUDP {
			return false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+plen > len(ip) {
			return false
		}
		f.src = netip.AddrFrom16([16]byte(ip[8:24]))
		f.dst = netip.AddrFrom16([16]byte(ip[24:40]))
		udp = ip[40 : 40+plen]
	default:
		return false
	}
	if len(udp) < udpHeaderLen {
		return false
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < udpHeaderLen || ulen > len(udp) {
		return false
	}
	f.sport = binary.BigEndian.Uint16(udp[0:])
	f.dport = binary.BigEndian.Uint16(udp[2:])
	f.payload = udp[udpHeaderLen:ulen]
	return true
}

// writeReplyFrame fills out[:f.headerLen()] with the headers of the reply
// to f, whose DNS message of n bytes already sits right after them, and
// returns the whole frame.
func writeReplyFrame(out []byte, f *dnsFrame, n int) []byte {
	h := f.headerLen()
	frame := out[:h+n]
	copy(frame[0:6], f.srcMAC[:])
	copy(frame[6:12], f.dstMAC[:])
	udpLen := udpHeaderLen + n
	var udp []byte
	var sum uint32
	if f.src.Is4() {
		binary.BigEndian.PutUint16(frame[12:], etherTypeIPv4)
		ip := frame[ethHeaderLen : ethHeaderLen+20]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], uint16(20+udpLen))
		binary.BigEndian.PutUint32(ip[4:], 0x00004000) // id 0, don't fragment
		ip[8], ip[9] = 64, ipProtoUDP
		ip[10], ip[11] = 0, 0
		s, d := f.dst.As4(), f.src.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sumBytes(0, ip)))
		sum = sumBytes(sumBytes(0, s[:]), d[:])
		udp = frame[ethHeaderLen+20:]
	} else {
		binary.BigEndian.PutUint16(frame[12:], etherTypeIPv6)
		ip := frame[ethHeaderLen : ethHeaderLen+40]
		binary.BigEndian.PutUint32(ip[0:], 0x60000000)
		binary.BigEndian.PutUint16(ip[4:], uint16(udpLen))
		ip[6], ip[7] = ipProtoUDP, 64
		s, d := f.dst.As16(), f.src.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		sum = sumBytes(sumBytes(0, s[:]), d[:])
		udp = frame[ethHeaderLen+40:]
	}
	binary.BigEndian.PutUint16(udp[0:], f.dport)
	binary.BigEndian.PutUint16(udp[2:], f.sport)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	udp[6], udp[7] = 0, 0
	sum += ipProtoUDP + uint32(udpLen)
	c := ^fold(sumBytes(sum, udp[:udpLen]))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], c)
	return frame
}

// sumBytes adds b to a ones' complement sum (RFC 1071).
func sumBytes(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
