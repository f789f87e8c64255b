package lab

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Expose makes a TCP address of the root namespace (for example the
// controller's or Consul's 127.0.0.1:PORT) reachable at the same address
// inside every host namespace, by a forwarder in the test process. Host
// namespaces have their own loopback, so without it agents started there
// could not reach services started in the root namespace. The remote end
// need not be listening yet: each connection dials it afresh.
func (l *Lab) Expose(addr string) {
	l.t.Helper()
	for _, h := range l.Hosts {
		if err := h.Expose(addr); err != nil {
			l.t.Fatalf("lab: %v", err)
		}
	}
}

// Expose makes the root-namespace TCP address addr reachable at the same
// address inside this host's namespace (see Lab.Expose).
func (h *Host) Expose(addr string) error {
	ln, err := listenInNetns(netnsPath(h.Netns), addr)
	if err != nil {
		return fmt.Errorf("expose %s in %s: %w", addr, h.Name, err)
	}
	f := &forwarder{ln: ln, target: addr, conns: map[net.Conn]struct{}{}}
	h.lab.mu.Lock()
	h.lab.forwards = append(h.lab.forwards, f)
	h.lab.mu.Unlock()
	f.wg.Add(1)
	go f.serve()
	return nil
}

// listenInNetns opens a TCP listener inside another network namespace.
func listenInNetns(nsPath, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNetns(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// inNetns runs f on an OS thread switched into another network namespace.
// Sockets f creates stay in that namespace wherever they are used later.
func inNetns(nsPath string, f func() error) error {
	target, err := os.Open(nsPath)
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", nsPath, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it dies with this goroutine instead of
		// running other goroutines in the wrong namespace.
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

type forwarder struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // listener closed
		}
		f.wg.Add(1)
		go f.pipe(c)
	}
}

func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) pipe(in net.Conn) {
	defer f.wg.Done()
	if !f.track(in) {
		return
	}
	out, err := net.DialTimeout("tcp", f.target, 5*time.Second)
	if err != nil {
		in.Close()
		return
	}
	if !f.track(out) {
		in.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	half := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}
	go half(out, in)
	go half(in, out)
	wg.Wait()
	in.Close()
	out.Close()
	f.mu.Lock()
	delete(f.conns, in)
	delete(f.conns, out)
	f.mu.Unlock()
}

func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.ln.Close()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
