package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The DNS port's kernel side: an OVS internal port with no address, up,
// IPv6 off (no router solicitations or DAD into OVS), read and written by
// a packet socket. OVS recreates the device when ovs-vswitchd restarts, so
// the agent checks it every half second and reopens the socket on a new
// device.

// servePort serves the DNS port until ctx ends. It never fails the agent:
// the data plane matters more than names, so problems are logged and
// retried.
func (d *Resolver) servePort(ctx context.Context) {
	name := d.cfg.Port.PortName
	var waiting time.Time
	for ctx.Err() == nil {
		link, err := netlink.LinkByName(name)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if !errors.As(err, &nf) {
				d.log.Warn("looking for the DNS port", "port", name, "err", err)
				sleepCtx(ctx, time.Second)
				continue
			}
			if waiting.IsZero() {
				waiting = time.Now()
			} else if time.Since(waiting) > 30*time.Second {
				d.log.Warn("DNS port does not exist yet", "port", name)
				waiting = time.Now()
			}
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		waiting = time.Time{}
		if err := prepareDNSLink(link); err != nil {
			d.log.Warn("configuring the DNS port", "port", name, "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		sock, err := openPacketSocket(link.Attrs().Index)
		if err != nil {
			d.log.Error("cannot open a packet socket on the DNS port; retrying", "port", name, "err", err)
			sleepCtx(ctx, 5*time.Second)
			continue
		}
		d.log.Info("serving DNS on the OVS port", "port", name, "ifindex", link.Attrs().Index)
		d.servePacketSocket(ctx, sock, link.Attrs().Index)
	}
}

// servePacketSocket reads and answers until ctx ends or the device is gone
// or replaced.
func (d *Resolver) servePacketSocket(ctx context.Context, sock *packetSocket, ifindex int) {
	var wg sync.WaitGroup
	for range d.cfg.Readers {
		wg.Add(1)
		go func() { defer wg.Done(); d.readPort(sock) }()
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			link, err := netlink.LinkByName(d.cfg.Port.PortName)
			if err != nil || link.Attrs().Index != ifindex {
				d.log.Info("DNS port replaced; reopening", "port", d.cfg.Port.PortName)
				done = true
			} else if link.Attrs().Flags&net.FlagUp == 0 {
				if err := prepareDNSLink(link); err != nil {
					d.log.Warn("configuring the DNS port", "err", err)
				}
			}
		}
	}
	sock.Close()
	wg.Wait()
}

func (d *Resolver) readPort(sock *packetSocket) {
	in := newMsgBatch(dnsBatch, 4096, false)
	out := newMsgBatch(dnsBatch, 2048, false)
	var f dnsFrame
	for {
		n, err := in.recv(sock.rc)
		if sock.closed.Load() {
			return
		}
		if err != nil {
			// The device went down or away: the monitor reopens.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		ix := d.index.Load()
		k := 0
		for i := 0; i < n; i++ {
			if ix == nil || !parseDNSFrame(in.msg(i), &f) || f.dport != 53 {
				d.dropped.Add(1)
				continue
			}
			v := ix.views[dnsViewKey{f.vni, f.src}]
			h := f.headerLen()
			buf := out.bufs[k]
			reply, act, maxSize := d.resolve(ix, v, f.payload, buf[h:h])
			if act == dnsHold {
				if d.held.add(sock, &f, time.Now()) {
					continue
				}
				act = dnsReply // too many held: answer what is known
			}
			switch act {
			case dnsReply:
				if len(reply) > len(buf)-h {
					d.dropped.Add(1)
					continue
				}
				if len(reply) > 0 && &reply[0] != &buf[h] {
					copy(buf[h:], reply)
				}
				out.setReply(k, writeReplyFrame(buf, &f, len(reply)), nil, 0)
				k++
			case dnsForward:
				d.forwarded.Add(1)
				fr := f // the callback outlives this frame
				fr.payload = nil
				d.fwd.forward(f.payload, maxSize, func(resp []byte) {
					buf := make([]byte, fr.headerLen()+len(resp))
					copy(buf[fr.headerLen():], resp)
					_ = sock.Write(writeReplyFrame(buf, &fr, len(resp)))
				})
			default:
				d.dropped.Add(1)
			}
		}
		if k > 0 {
			_ = out.send(sock.rc, k)
		}
	}
}

// prepareDNSLink turns IPv6 off on the device and brings it up.
func prepareDNSLink(link netlink.Link) error {
	name := link.Attrs().Name
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("disable IPv6 on %s: %w", name, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", name, err)
		}
	}
	return nil
}

// packetSocket is an AF_PACKET socket bound to one device, integrated with
// Go's poller: reads block the goroutine, not a thread, and Close wakes
// them.
type packetSocket struct {
	f       *os.File
	rc      syscall.RawConn
	ifindex int
	closed  atomic.Bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openPacketSocket(ifindex int) (*packetSocket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, err
	}
	// Our own answers would otherwise come back as outgoing frames.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("PACKET_IGNORE_OUTGOING: %w", err)
	}
	setSocketBuffers(int(fd))
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	f := os.NewFile(uintptr(fd), "dns-packet-socket")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &packetSocket{f: f, rc: rc, ifindex: ifindex}, nil
}

// Write sends one frame out of the device (into OVS).
func (s *packetSocket) Write(b []byte) error {
	var werr error
	err := s.rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), b)
		return werr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return werr
}

func (s *packetSocket) isClosed() bool { return s.closed.Load() }

func (s *packetSocket) Close() error {
	s.closed.Store(true)
	return s.f.Close()
}

// setSocketBuffers gives a resolver socket room for bursts (a client's
// hundreds of outstanding queries): 4 MiB each way, beyond the sysctl
// limits when the agent may (root), else as much as they allow.
func setSocketBuffers(fd int) {
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], 4<<20) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], 4<<20)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
