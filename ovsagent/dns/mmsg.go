package dns

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched socket I/O for the resolver: recvmmsg(2) takes every query
// already queued on a socket in one system call, sendmmsg(2) sends all
// their answers in one, through Go's poller (a goroutine waits, not a
// thread). Under load this more than halves the CPU per query, which is
// what a resolver sharing two cores with its clients runs out of. No
// allocation per message: headers, buffers and addresses are reused.

// msgBatch is a set of messages with their buffers and peer addresses.
type msgBatch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrInet6 // large enough for IPv4 and IPv6
	bufs  [][]byte
}

// newMsgBatch makes n messages of size bytes each; withAddrs for sockets
// that need peer addresses (UDP), not for bound packet sockets.
func newMsgBatch(n, size int, withAddrs bool) *msgBatch {
	b := &msgBatch{hdrs: make([]unix.Mmsghdr, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n)}
	if withAddrs {
		b.addrs = make([]unix.RawSockaddrInet6, n)
	}
	for i := range b.hdrs {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.hdrs[i].Hdr.Iov = &b.iovs[i]
		b.hdrs[i].Hdr.SetIovlen(1)
	}
	return b
}

// recv reads up to len(b.hdrs) messages, waiting for the first.
func (b *msgBatch) recv(rc syscall.RawConn) (int, error) {
	for i := range b.hdrs {
		b.iovs[i].SetLen(len(b.bufs[i]))
		if b.addrs != nil {
			b.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
			b.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		}
		b.hdrs[i].Len = 0
	}
	var n int
	var errno syscall.Errno
	err := rc.Read(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		n, errno = int(r), e
		return e != unix.EAGAIN && e != unix.EWOULDBLOCK
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return n, nil
}

// msg is message i as received.
func (b *msgBatch) msg(i int) []byte { return b.bufs[i][:b.hdrs[i].Len] }

// setReply makes message i of b (an out batch) carry payload, which must
// lie in b.bufs[i], to the peer of message j of in (nil: no address).
func (b *msgBatch) setReply(i int, payload []byte, in *msgBatch, j int) {
	b.iovs[i].Base = &b.bufs[i][0]
	b.iovs[i].SetLen(len(payload))
	if in != nil && in.addrs != nil {
		b.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&in.addrs[j]))
		b.hdrs[i].Hdr.Namelen = in.hdrs[j].Hdr.Namelen
	} else {
		b.hdrs[i].Hdr.Name, b.hdrs[i].Hdr.Namelen = nil, 0
	}
}

// send sends messages [0, n) of b; a message the kernel refuses is
// skipped (the asker retries).
func (b *msgBatch) send(rc syscall.RawConn, n int) error {
	for sent := 0; sent < n; {
		var m int
		var errno syscall.Errno
		err := rc.Write(func(fd uintptr) bool {
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[sent])), uintptr(n-sent), unix.MSG_DONTWAIT, 0, 0)
			m, errno = int(r), e
			return e != unix.EAGAIN && e != unix.EWOULDBLOCK
		})
		if err != nil {
			return err
		}
		if errno != 0 {
			m = 1 // this message failed: skip it
		}
		sent += m
	}
	return nil
}
