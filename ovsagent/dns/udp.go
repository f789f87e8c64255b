package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The host listener (-dns-listen): the same resolver on plain UDP sockets
// in the host's namespace, asked as "the host", which resolves NAME.NETWORK
// and reverse names of every network present on the host. One
// SO_REUSEPORT socket per reader spreads queries over the cores without a
// shared lock.

type dnsListener struct {
	d     *Resolver
	conns []*net.UDPConn
}

func (d *Resolver) listenUDP(ctx context.Context, addr netip.AddrPort) (*dnsListener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if serr == nil {
				setSocketBuffers(int(fd))
			}
		}); err != nil {
			return err
		}
		return serr
	}}
	l := &dnsListener{d: d}
	for range d.cfg.Readers {
		pc, err := lc.ListenPacket(ctx, "udp", addr.String())
		if err != nil {
			l.close()
			return nil, fmt.Errorf("dns listen %s: %w", addr, err)
		}
		l.conns = append(l.conns, pc.(*net.UDPConn))
	}
	return l, nil
}

func (l *dnsListener) close() {
	for _, c := range l.conns {
		c.Close()
	}
}

func (l *dnsListener) serve(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range l.conns {
		wg.Add(1)
		go func() { defer wg.Done(); l.read(c) }()
	}
	<-ctx.Done()
	l.close()
	wg.Wait()
}

// dnsBatch is how many messages one system call reads or writes.
const dnsBatch = 32

func (l *dnsListener) read(c *net.UDPConn) {
	d := l.d
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	in := newMsgBatch(dnsBatch, 4096, true)
	out := newMsgBatch(dnsBatch, 2048, false)
	for {
		n, err := in.recv(rc)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(time.Millisecond) // an error of one datagram (ICMP): go on
			continue
		}
		ix := d.index.Load()
		k := 0
		for i := 0; i < n; i++ {
			msg := in.msg(i)
			if ix == nil {
				d.dropped.Add(1)
				continue
			}
			reply, act, maxSize := d.resolve(ix, ix.host, msg, out.bufs[k][:0])
			switch act {
			case dnsReply:
				if len(reply) > 0 && &reply[0] != &out.bufs[k][0] {
					reply = out.bufs[k][:copy(out.bufs[k], reply)]
				}
				out.setReply(k, reply, in, i)
				k++
			case dnsForward:
				d.forwarded.Add(1)
				from := sockaddrToAddrPort(&in.addrs[i])
				d.fwd.forward(msg, maxSize, func(resp []byte) { _, _ = c.WriteToUDPAddrPort(resp, from) })
			default:
				d.dropped.Add(1)
			}
		}
		if k > 0 {
			if err := out.send(rc, k); err != nil {
				return
			}
		}
	}
}

// sockaddrToAddrPort reads a raw IPv4 or IPv6 socket address.
func sockaddrToAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
