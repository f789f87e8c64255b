package lab

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"time"
)

// Container is a bare namespace standing for a container on Host: only lo
// is up; the agent under test creates its interfaces.
type Container struct {
	Name      string
	Netns     string // path, /run/netns/<prefix>-<name>
	NetnsName string // <prefix>-<name>
	Host      *Host

	lab *Lab
}

var containerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,39}$`)

// AddContainer creates the namespace "<prefix>-<name>" for a container on h.
func (l *Lab) AddContainer(h *Host, name string) *Container {
	l.t.Helper()
	if !containerName.MatchString(name) {
		l.t.Fatalf("lab: bad container name %q", name)
	}
	ns := l.Prefix + "-" + name
	l.mu.Lock()
	taken := false
	for _, n := range l.netnses {
		taken = taken || n == ns
	}
	l.mu.Unlock()
	if taken {
		l.t.Fatalf("lab: namespace %s already exists", ns)
	}
	if err := l.addNetns(ns); err != nil {
		l.t.Fatalf("lab: container %s: %v", name, err)
	}
	c := &Container{Name: name, Netns: netnsPath(ns), NetnsName: ns, Host: h, lab: l}
	l.mu.Lock()
	l.containers = append(l.containers, c)
	l.mu.Unlock()
	return c
}

// Exec runs a command inside the container namespace and returns its
// stdout; the error includes stderr.
func (c *Container) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	return c.lab.nsRun(ctx, c.NetnsName, nil, name, args...)
}

// Ping runs `ping -c count -W 1 -i 0.2` (with -6 for IPv6 addresses) and
// returns an error, including ping's output, unless it exits 0.
func (c *Container) Ping(ctx context.Context, addr string, count int) error {
	return ping(ctx, c.lab, c.NetnsName, addr, count)
}

// PingOnce sends one echo request and reports whether a reply came within
// timeout (at least 1 s, ping's granularity). Meant for polling loops.
func (c *Container) PingOnce(addr string, timeout time.Duration) bool {
	secs := max(1, int(math.Ceil(timeout.Seconds())))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+2*time.Second)
	defer cancel()
	args := append(pingFamily(addr), "-n", "-q", "-c", "1", "-W", strconv.Itoa(secs), addr)
	_, err := c.lab.nsRun(ctx, c.NetnsName, nil, "ping", args...)
	return err == nil
}

func pingFamily(addr string) []string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return nil
	}
	if a.Is6() && !a.Is4In6() {
		return []string{"-6"}
	}
	return []string{"-4"}
}

func ping(ctx context.Context, l *Lab, netns, addr string, count int) error {
	if count < 1 {
		count = 1
	}
	if _, ok := ctx.Deadline(); !ok {
		// Bound it even if the caller did not: count probes 0.2 s apart plus the last wait.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(count)*300*time.Millisecond+5*time.Second)
		defer cancel()
	}
	args := append(pingFamily(addr), "-n", "-c", strconv.Itoa(count), "-W", "1", "-i", "0.2", addr)
	if _, err := l.nsRun(ctx, netns, nil, "ping", args...); err != nil {
		return fmt.Errorf("ping %s from %s: %w", addr, netns, err) // err carries ping's output
	}
	return nil
}

// Outside is the world beyond the hosts: reachable at Addr through the
// underlay router WireIP; it has no route back to container subnets.
type Outside struct {
	Netns  string     // namespace name, "<prefix>-out"
	Addr   netip.Addr // 203.0.113.1, on a dummy interface
	WireIP netip.Addr // 192.0.2.254, the hosts' next hop to Addr

	lab *Lab
}

// Exec runs a command inside the outside namespace.
func (o *Outside) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	return o.lab.nsRun(ctx, o.Netns, nil, name, args...)
}

// Ping pings from the outside namespace; see Container.Ping.
func (o *Outside) Ping(ctx context.Context, addr string, count int) error {
	return ping(ctx, o.lab, o.Netns, addr, count)
}
