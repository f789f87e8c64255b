package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// CaptureFields are the columns of each line Capture's stop returns,
// tab-separated. Fields that occur more than once in an encapsulated frame
// list every occurrence, outer first, comma-separated: a VXLAN frame
// carrying an ARP broadcast has eth.dst "<outer MAC>,ff:ff:ff:ff:ff:ff" and
// protocol "ARP"; one carrying a ping has ip.src "192.0.2.1,10.0.0.2".
// Frames that are not VXLAN have an empty vxlan.vni: the hosts resolving
// each other's underlay addresses show up as plain ARP with no VNI.
var CaptureFields = []string{
	"frame.number", "eth.src", "eth.dst", "ip.src", "ip.dst", "vxlan.vni",
	"_ws.col.Protocol", "_ws.col.Info",
}

// markerType is the IEEE "local experimental" EtherType of the frames the
// lab sends to know how far the capture has got.
const markerType = 0x88b5

// Capture starts capturing on the underlay bridge (every frame between any
// two hosts or the outside crosses it) with a pcap filter ("" for all) and
// returns once the capture provably sees packets. stop ends it and returns
// one line per packet (see CaptureFields), with UDP port 4789 decoded as
// VXLAN so inner frames are visible; it includes everything that crossed
// the wire before stop was called. The capture also ends when ctx is done.
//
// dumpcap has no immediate mode: a packet sits in the kernel ring for up
// to a quarter second, and stopping it loses what has not been read yet.
// So the lab sends marker frames (to the bridge's own MAC, where they go
// no further) and waits until the capture stream contains them, both to
// know the capture has started and before stopping it.
func (l *Lab) Capture(ctx context.Context, filter string) (stop func() ([]byte, error), err error) {
	l.mu.Lock()
	n := len(l.captures) + 1
	l.mu.Unlock()
	name := fmt.Sprintf("capture%d", n)
	file := filepath.Join(l.Dir, name+".pcapng")
	mk, err := newMarker(netnsPath(l.Wire), l.WireBridge)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	// Written to a pipe, dumpcap flushes every packet, so the stream is current.
	argv := []string{"ip", "netns", "exec", l.Wire, "dumpcap", "-q", "-i", l.WireBridge, "-w", "-"}
	if filter != "" {
		argv = append(argv, "-f", fmt.Sprintf("(%s) or ether proto 0x%x", filter, markerType))
	}
	c := &capture{name: name, file: file, marker: mk}
	c.proc = l.newProcess(name, filepath.Join(l.Dir, name+".log"), nil, argv)
	l.mu.Lock()
	l.captures = append(l.captures, c)
	l.mu.Unlock()
	if err := c.start(); err != nil {
		c.abort()
		return nil, fmt.Errorf("capture: %w", err)
	}
	if err := c.sync(10 * time.Second); err != nil {
		c.abort()
		return nil, fmt.Errorf("capture did not start: %w: %s", err, tail(c.proc.Log(), 5))
	}
	stopOnDone := context.AfterFunc(ctx, c.abort)
	var once sync.Once
	var out []byte
	stop = func() ([]byte, error) {
		once.Do(func() {
			stopOnDone()
			err = c.sync(5 * time.Second)
			if serr := c.finish(); serr != nil {
				err = errors.Join(err, serr)
			}
			if err != nil {
				return
			}
			out, err = decode(file)
		})
		return out, err
	}
	return stop, nil
}

type capture struct {
	name   string
	file   string
	proc   *Process
	marker *marker

	stream   *scanWriter
	copyDone chan error
}

func (c *capture) start() error {
	f, err := os.Create(c.file)
	if err != nil {
		return err
	}
	c.stream = &scanWriter{w: f}
	pr, pw, err := os.Pipe()
	if err != nil {
		f.Close()
		return err
	}
	c.proc.stdout = pw
	err = c.proc.start()
	pw.Close()
	if err != nil {
		pr.Close()
		f.Close()
		return err
	}
	c.copyDone = make(chan error, 1)
	go func() {
		_, err := io.Copy(c.stream, pr)
		pr.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		c.copyDone <- err
	}()
	return nil
}

// sync sends marker frames until one shows up in the capture stream.
func (c *capture) sync(timeout time.Duration) error {
	return poll(timeout, 100*time.Millisecond, func() error {
		if !c.proc.Running() {
			return errors.New("dumpcap exited")
		}
		nonce := make([]byte, 16)
		copy(nonce, "ovsnetlab")
		if _, err := rand.Read(nonce[9:]); err != nil {
			return err
		}
		c.stream.expect(nonce)
		if err := c.marker.send(nonce); err != nil {
			return err
		}
		// Delivery from the kernel ring takes up to ~250 ms.
		for range 10 {
			if c.stream.seen(nonce) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return errors.New("marker frame not captured")
	})
}

// finish stops dumpcap and waits until its output is in the file.
func (c *capture) finish() error {
	err := c.proc.Stop()
	select {
	case cerr := <-c.copyDone:
		err = errors.Join(err, cerr)
	case <-time.After(10 * time.Second):
		err = errors.Join(err, errors.New("capture output not closed"))
	}
	c.marker.close()
	return err
}

func (c *capture) abort() {
	if c.proc.Running() {
		c.proc.Kill()
	}
	c.marker.close()
}

// scanWriter passes a stream through and remembers whether a byte string
// (a marker nonce) has gone by, without keeping the whole stream.
type scanWriter struct {
	w io.Writer

	mu     sync.Mutex
	window []byte // last bytes written, enough to find a nonce split across writes
	found  map[string]bool
	want   map[string]bool
}

func (s *scanWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	buf := append(s.window, p...)
	for nonce := range s.want {
		if bytes.Contains(buf, []byte(nonce)) {
			s.found[nonce] = true
			delete(s.want, nonce)
		}
	}
	if len(buf) > 64 {
		buf = buf[len(buf)-64:]
	}
	s.window = append(s.window[:0], buf...)
	s.mu.Unlock()
	return s.w.Write(p)
}

// expect starts looking for nonce; call it before sending the marker.
func (s *scanWriter) expect(nonce []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.found == nil {
		s.found, s.want = map[string]bool{}, map[string]bool{}
	}
	s.want[string(nonce)] = true
}

func (s *scanWriter) seen(nonce []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.found[string(nonce)]
}

// marker sends marker frames on the wire bridge through a packet socket
// created inside the wire namespace.
type marker struct {
	fd   int
	addr unix.SockaddrLinklayer
	mac  net.HardwareAddr

	mu     sync.Mutex
	closed bool
}

func newMarker(nsPath, dev string) (*marker, error) {
	m := &marker{fd: -1}
	err := inNetns(nsPath, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0) // protocol 0: send only
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		m.fd, m.mac = fd, ifi.HardwareAddr
		m.addr = unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(markerType), Halen: 6}
		copy(m.addr.Addr[:], ifi.HardwareAddr)
		return nil
	})
	if err != nil {
		if m.fd >= 0 {
			unix.Close(m.fd)
		}
		return nil, fmt.Errorf("marker socket: %w", err)
	}
	return m, nil
}

// send transmits one marker frame carrying nonce. The frame goes to the
// bridge's own MAC: taps see it, the bridge then drops it.
func (m *marker) send(nonce []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("capture closed")
	}
	frame := make([]byte, 60)
	copy(frame[0:6], m.mac)
	copy(frame[6:12], m.mac)
	binary.BigEndian.PutUint16(frame[12:14], markerType)
	copy(frame[14:], nonce)
	if err := unix.Sendto(m.fd, frame, 0, &m.addr); err != nil {
		return fmt.Errorf("send marker: %w", err)
	}
	return nil
}

func (m *marker) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		unix.Close(m.fd)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func decode(file string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-r", file, "-n", "-d", "udp.port==4789,vxlan",
		"-Y", fmt.Sprintf("not eth.type == 0x%x", markerType),
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range CaptureFields {
		args = append(args, "-e", f)
	}
	out, err := run(ctx, nil, "tshark", args...)
	if err != nil {
		return nil, fmt.Errorf("decode capture: %w", err)
	}
	return out, nil
}
