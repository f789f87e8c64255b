// Package lab builds a real multi-host Open vSwitch lab on one Linux machine
// for ovsnet's end-to-end tests.
//
// Topology (every name starts with the run's prefix P, e.g. "on3fa2"):
//
//	netns P-wire: Linux bridge P-br, the underlay switch
//	   |- P-u1 ~~ P-e1 in netns P-h1: owned by OVS br-phy (netdev), 192.0.2.1/24 on br-phy
//	   |- P-u2 ~~ P-e2 in netns P-h2: likewise, 192.0.2.2/24
//	   |- ...
//	   '- P-uo ~~ P-eo in netns P-out (optional): 192.0.2.254/24,
//	              and 203.0.113.1/24 on P-d0 (a veth pair P-d0/P-d1 kept inside)
//
// Each host is a network namespace running its own ovsdb-server and
// ovs-vswitchd (userspace datapath) with a private directory for the
// database, sockets, pid and log files. The underlay address sits on the
// br-phy internal port because userspace tunnelling resolves the remote VTEP
// through OVS's own route and neighbour tables, which only see addresses on
// OVS bridges. The lab never creates br-int: the agent under test does.
// Containers are bare namespaces (only lo up); the agent plumbs them.
//
// The optional outside namespace stands for the world beyond the hosts: it
// answers on 203.0.113.1, every host routes 203.0.113.0/24 to it and
// forwards IPv4, and it has no route back to container subnets, so only
// NATed traffic gets answers.
//
// Typical use in an end-to-end test:
//
//	l := lab.New(t, lab.Options{Hosts: 2, Outside: true})
//	bins := lab.Build(t)
//	consul := l.StartConsul()
//	for _, h := range l.Hosts {
//		l.Start("agent-"+h.Name, h.Netns, h.Env(), bins["ovsnet-agent"], "-ovsdb", h.OVSDB(), ...)
//	}
//	c1 := l.AddContainer(l.Hosts[0], "c1") // the agent plumbs it
//	stop, _ := l.Capture(ctx, "udp port 4789")
//	... c1.Ping(ctx, "10.0.0.3", 3) ...
//	pkts, _ := stop()
//
// Cleanup is registered with t.Cleanup and also runs when the test fails or
// panics. If the test binary dies without running cleanups (go test
// -timeout, a signal), a detached reaper process notices that the binary's
// end of a pipe closed and kills the lab's processes (checked by pid and
// start time), deletes its namespaces and removes its directory. Processes
// the lab starts also get SIGKILL as parent-death signal.
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Underlay and outside addressing; tests must not send traffic elsewhere.
var (
	outsideWireIP = netip.MustParseAddr("192.0.2.254")
	outsideAddr   = netip.MustParseAddr("203.0.113.1")
	outsidePrefix = netip.MustParsePrefix("203.0.113.0/24")
)

// Options says what New builds.
type Options struct {
	Hosts   int  // number of hosts, 0..200
	Outside bool // also build the outside namespace (203.0.113.1)
}

// Lab is one test's multi-host world. All its objects carry Prefix.
type Lab struct {
	Prefix     string // unique per run: "on" + 4 hex digits
	Dir        string // /tmp/ovsnet-<Prefix>: OVS dirs, logs, Consul data
	Hosts      []*Host
	Outside    *Outside // nil unless Options.Outside
	Wire       string   // netns name of the underlay switch
	WireBridge string   // Linux bridge inside Wire that joins all underlay links

	t          testing.TB
	reaperPipe *os.File  // our end; closing it (or dying) triggers the reaper
	reaper     *exec.Cmd // detached cleanup of last resort

	mu         sync.Mutex
	procs      []*Process // started with Start, stopped in reverse order
	containers []*Container
	consuls    []*Consul
	captures   []*capture
	forwards   []*forwarder
	dockers    []*Docker
	podmans    []*Podman
	netnses    []string // every namespace created, in creation order
}

// New builds the lab and registers its teardown with t.Cleanup. It fails
// the test (never skips) if not root or tools are missing.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	RequireRoot(t)
	if opts.Hosts < 0 || opts.Hosts > 200 {
		t.Fatalf("lab: Hosts=%d out of range 0..200", opts.Hosts)
	}
	l := &Lab{t: t}
	if err := l.claimPrefix(); err != nil {
		t.Fatalf("lab: %v", err)
	}
	// Registered before anything is built so a half-built lab is torn down too.
	t.Cleanup(l.cleanup)
	if err := l.startReaper(); err != nil {
		t.Fatalf("lab: %v", err)
	}
	if err := l.removeLeftovers(); err != nil {
		t.Fatalf("lab: %v", err)
	}
	start := time.Now()
	if err := l.buildWire(); err != nil {
		t.Fatalf("lab: wire: %v", err)
	}
	if opts.Outside {
		if err := l.buildOutside(); err != nil {
			t.Fatalf("lab: outside: %v", err)
		}
	}
	for i := 1; i <= opts.Hosts; i++ {
		h, err := l.buildHost(i, opts.Outside)
		if h != nil {
			l.Hosts = append(l.Hosts, h)
		}
		if err != nil {
			t.Fatalf("lab: host h%d: %v", i, err)
		}
	}
	t.Logf("lab %s: %d hosts, outside=%v, dir %s, built in %v", l.Prefix, opts.Hosts, opts.Outside, l.Dir, time.Since(start).Round(time.Millisecond))
	return l
}

// claimPrefix picks a random prefix and claims it atomically by creating
// its directory, so two concurrent runs never share (or clean up) a prefix.
func (l *Lab) claimPrefix() error {
	base := os.TempDir()
	if len(base) > 40 { // unix socket paths under Dir must stay < 108 bytes
		base = "/tmp"
	}
	for range 20 {
		var b [2]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("random prefix: %w", err)
		}
		prefix := "on" + hex.EncodeToString(b[:])
		dir := filepath.Join(base, "ovsnet-"+prefix)
		if err := os.Mkdir(dir, 0o755); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return fmt.Errorf("claim prefix: %w", err)
		}
		l.Prefix, l.Dir = prefix, dir
		l.Wire = prefix + "-wire"
		l.WireBridge = prefix + "-br"
		return nil
	}
	return errors.New("no free lab prefix after 20 tries")
}

// removeLeftovers deletes namespaces of our own prefix that a crashed
// earlier run with the same prefix may have left (the directory claim
// guarantees no live run owns them).
func (l *Lab) removeLeftovers() error {
	names, err := netnsList()
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, l.Prefix+"-") {
			l.t.Logf("lab: removing leftover namespace %s", n)
			if _, err := run(context.Background(), nil, "ip", "netns", "del", n); err != nil {
				return err
			}
		}
	}
	return nil
}

// reaperScript runs detached; it blocks until the test binary's end of the
// pipe closes, then kills the lab's recorded processes (only if the pid
// still has the recorded start time, to be safe against pid reuse), deletes
// the namespaces of the prefix and removes the directory. After a normal
// cleanup it finds nothing to do.
const reaperScript = `cat >/dev/null
if [ -f "$1/reap.pids" ]; then
  while read -r pid st; do
    cur=$(sed 's/.*) //' /proc/"$pid"/stat 2>/dev/null | cut -d' ' -f20)
    if [ -n "$cur" ] && [ "$cur" = "$st" ]; then kill -9 -- -"$pid" "$pid" 2>/dev/null; fi
  done < "$1/reap.pids"
fi
if [ -n "$2" ]; then
  ip netns list | while read -r n _; do case "$n" in "$2"-*) ip netns del "$n";; esac; done
  rm -rf /etc/netns/"$2"-*
fi
rm -rf "$1"
`

func (l *Lab) startReaper() error {
	cmd, w, err := startReaper(l.Dir, l.Prefix)
	if err != nil {
		return err
	}
	l.reaper, l.reaperPipe = cmd, w
	return nil
}

func startReaper(dir, prefix string) (*exec.Cmd, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("reaper pipe: %w", err)
	}
	cmd := exec.Command("sh", "-c", reaperScript, "ovsnet-lab-reaper", dir, prefix)
	cmd.Stdin = r
	// Own session: survives the test binary and a ^C to its process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, nil, fmt.Errorf("start reaper: %w", err)
	}
	r.Close()
	return cmd, w, nil
}

// recordPid appends pid and its start time to the reaper's list.
func (l *Lab) recordPid(pid int) {
	st, err := procStartTime(pid)
	if err != nil {
		return // already gone
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, "reap.pids"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		l.t.Logf("lab: record pid %d: %v", pid, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d %s\n", pid, st)
}

// procStartTime returns field 22 of /proc/<pid>/stat (start time in ticks).
func procStartTime(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return "", fmt.Errorf("short /proc/%d/stat", pid)
	}
	return f[19], nil
}

func (l *Lab) buildWire() error {
	if err := l.addNetns(l.Wire); err != nil {
		return err
	}
	// No IPv6 on the switch: it would only add RS/MLD noise to captures.
	if err := l.ipBatch(
		[]string{"netns", "exec", l.Wire, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		[]string{"-n", l.Wire, "link", "add", l.WireBridge, "type", "bridge"},
		[]string{"-n", l.Wire, "link", "set", l.WireBridge, "up"},
	); err != nil {
		return err
	}
	return nil
}

// plugWire creates a veth with wireEnd in the wire namespace (enslaved to
// the bridge) and peerEnd in netns.
func (l *Lab) plugWire(wireEnd, peerEnd, netns string) error {
	if err := l.ipBatch(
		[]string{"-n", l.Wire, "link", "add", wireEnd, "type", "veth", "peer", "name", peerEnd, "netns", netns},
		[]string{"-n", l.Wire, "link", "set", wireEnd, "master", l.WireBridge, "up"},
	); err != nil {
		return err
	}
	// The underlay is IPv4 only; IPv6 autoconfiguration would only put
	// RS/MLD/NS noise on the wire.
	if err := l.noIPv6(netns, peerEnd); err != nil {
		return err
	}
	// A host's uplink is an OVS port, yet its kernel side still answers
	// ARP for the host's addresses (on br-phy) with the uplink's own MAC:
	// peers would then learn two MACs for one VTEP. Answer only for
	// addresses on the interface itself (the outside's has one).
	if _, err := l.nsRun(context.Background(), netns, nil, "sysctl", "-qw", "net.ipv4.conf."+peerEnd+".arp_ignore=1"); err != nil {
		return err
	}
	return l.ipBatch([]string{"-n", netns, "link", "set", peerEnd, "up"})
}

func (l *Lab) noIPv6(netns, dev string) error {
	_, err := l.nsRun(context.Background(), netns, nil, "sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1")
	return err
}

func (l *Lab) buildOutside() error {
	o := &Outside{Netns: l.Prefix + "-out", Addr: outsideAddr, WireIP: outsideWireIP, lab: l}
	if err := l.addNetns(o.Netns); err != nil {
		return err
	}
	l.Outside = o
	eo, dummy := l.Prefix+"-eo", l.Prefix+"-d0"
	if err := l.plugWire(l.Prefix+"-uo", eo, o.Netns); err != nil {
		return err
	}
	if err := l.ipBatch(
		[]string{"-n", o.Netns, "addr", "add", outsideWireIP.String() + "/24", "dev", eo},
		// The kernel here has no dummy driver: a veth pair whose peer stays
		// in the namespace serves the same purpose (an up link owning the /24).
		[]string{"-n", o.Netns, "link", "add", dummy, "type", "veth", "peer", "name", l.Prefix + "-d1"},
		[]string{"-n", o.Netns, "addr", "add", outsideAddr.String() + "/24", "dev", dummy},
		[]string{"-n", o.Netns, "link", "set", dummy, "up"},
		[]string{"-n", o.Netns, "link", "set", l.Prefix + "-d1", "up"},
	); err != nil {
		return err
	}
	// Kernel-sent TCP/UDP leaves a veth with a partial checksum; the
	// userspace datapath on the hosts would forward it unfinished and the
	// receiver drops it. Software checksums avoid that.
	if _, err := l.nsRun(context.Background(), o.Netns, nil, "ethtool", "-K", eo, "tx", "off"); err != nil {
		return err
	}
	return nil
}

// addNetns creates a namespace (with lo up) and records it for cleanup.
func (l *Lab) addNetns(name string) error {
	if _, err := run(context.Background(), nil, "ip", "netns", "add", name); err != nil {
		return err
	}
	l.mu.Lock()
	l.netnses = append(l.netnses, name)
	l.mu.Unlock()
	_, err := run(context.Background(), nil, "ip", "-n", name, "link", "set", "lo", "up")
	return err
}

func (l *Lab) ipBatch(cmds ...[]string) error {
	for _, c := range cmds {
		if _, err := run(context.Background(), nil, "ip", c...); err != nil {
			return err
		}
	}
	return nil
}

// nsRun runs a command inside the named namespace with nsenter.
func (l *Lab) nsRun(ctx context.Context, netns string, env []string, name string, args ...string) ([]byte, error) {
	return run(ctx, env, "nsenter", append([]string{"--net=" + netnsPath(netns), "--", name}, args...)...)
}

func netnsPath(netns string) string {
	if strings.HasPrefix(netns, "/") {
		return netns
	}
	return "/run/netns/" + netns
}

// run executes a command and returns its stdout; the error carries stderr
// (and stdout) so failures explain themselves. env is added to os.Environ.
func run(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second // don't hang on grandchildren holding pipes
	err := cmd.Run()
	if err != nil {
		out := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, truncate(out, 2000))
	}
	return stdout.Bytes(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

func netnsList() ([]string, error) {
	out, err := run(context.Background(), nil, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// poll calls f every interval until it returns nil, at most until timeout;
// it returns f's last error on timeout.
func poll(timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().Add(interval).After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

// cleanup tears everything down, in dependency order, and reports leftovers.
func (l *Lab) cleanup() {
	t := l.t
	if t.Failed() {
		l.diagnose()
	}
	l.mu.Lock()
	caps, procs, consuls, fwds, dockers, podmans := l.captures, l.procs, l.consuls, l.forwards, l.dockers, l.podmans
	l.mu.Unlock()
	for _, c := range caps {
		c.abort()
	}
	for _, d := range dockers {
		d.teardown()
	}
	// Before the agents stop: removing a container runs the CNI plugin's DEL.
	for _, p := range podmans {
		p.teardown()
	}
	for _, p := range slices.Backward(procs) {
		if p.Running() {
			if err := p.Stop(); err != nil {
				t.Logf("lab: stop %s: %v", p.Name, err)
			}
		}
	}
	for _, d := range dockers {
		d.unmount()
	}
	for _, c := range consuls {
		c.proc.Kill()
	}
	for _, f := range fwds {
		f.close()
	}
	for _, h := range l.Hosts {
		h.stopOVS()
	}
	// Anything still inside our namespaces (e.g. a grandchild of an agent)
	// would keep them alive; those pids are ours by construction.
	l.mu.Lock()
	netnses := slices.Clone(l.netnses)
	l.mu.Unlock()
	for _, pid := range pidsInNetns(netnses) {
		t.Logf("lab: killing pid %d (%s) still inside a lab namespace", pid, cmdline(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	names, err := netnsList()
	if err != nil {
		t.Errorf("lab cleanup: %v", err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, l.Prefix+"-") {
			if _, err := run(context.Background(), nil, "ip", "netns", "del", n); err != nil {
				t.Errorf("lab cleanup: %v", err)
			}
		}
	}
	if err := removeEtcNetns(l.Prefix); err != nil {
		t.Errorf("lab cleanup: %v", err)
	}
	keep := t.Failed() && os.Getenv("OVSNET_LAB_KEEP") != ""
	if keep {
		t.Logf("lab: OVSNET_LAB_KEEP set: keeping %s", l.Dir)
	} else if err := os.RemoveAll(l.Dir); err != nil {
		t.Errorf("lab cleanup: %v", err)
	}
	if l.reaperPipe != nil {
		if keep {
			// The reaper would remove the dir; stop it without letting it run.
			l.reaper.Process.Kill()
		}
		l.reaperPipe.Close()
		done := make(chan error, 1)
		go func() { done <- l.reaper.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			l.reaper.Process.Kill()
			<-done
		}
	}
	for _, left := range Leftovers(l.Prefix) {
		if keep && strings.HasPrefix(left, "dir ") {
			continue
		}
		t.Errorf("lab cleanup: leftover %s", left)
	}
}

// diagnose logs what helps to understand a failed test: the tail of every
// process log and each host's OVS configuration and flows.
func (l *Lab) diagnose() {
	t := l.t
	l.mu.Lock()
	procs, consuls, dockers := slices.Clone(l.procs), slices.Clone(l.consuls), slices.Clone(l.dockers)
	l.mu.Unlock()
	for _, p := range procs {
		t.Logf("lab: ---- %s (%s) log tail ----\n%s", p.Name, p.state(), tail(p.Log(), 40))
	}
	for _, c := range consuls {
		t.Logf("lab: ---- consul %s log tail ----\n%s", c.Addr, tail(c.proc.Log(), 20))
	}
	l.mu.Lock()
	containers := slices.Clone(l.containers)
	l.mu.Unlock()
	for _, c := range containers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		addrs, err1 := c.Exec(ctx, "ip", "-br", "addr")
		routes, err2 := c.Exec(ctx, "ip", "route")
		cancel()
		t.Logf("lab: ---- container %s on %s ----\n%s%s%v", c.Name, c.Host.Name, addrs, routes, errors.Join(err1, err2))
	}
	for _, h := range l.Hosts {
		show, err := h.Vsctl("show")
		if err != nil {
			show = err.Error()
		}
		t.Logf("lab: ---- %s ovs-vsctl show ----\n%s", h.Name, show)
		if _, err := h.Vsctl("br-exists", "br-int"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, err := run(ctx, h.Env(), "ovs-ofctl", "-O", "OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15", "dump-flows", "br-int")
			cancel()
			if err != nil {
				out = []byte(err.Error())
			}
			t.Logf("lab: ---- %s ovs-ofctl dump-flows br-int ----\n%s", h.Name, out)
		}
		if b, err := os.ReadFile(filepath.Join(h.OVSDir, "ovs-vswitchd.log")); err == nil {
			t.Logf("lab: ---- %s ovs-vswitchd.log tail ----\n%s", h.Name, tail(string(b), 15))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		links, _ := h.Exec(ctx, "ip", "-br", "link")
		neigh, _ := h.Exec(ctx, "ip", "neigh")
		cancel()
		tnl, err := h.Appctl("tnl/neigh/show")
		if err != nil {
			tnl = err.Error()
		}
		dp, err := h.Appctl("dpctl/dump-flows")
		if err != nil {
			dp = err.Error()
		}
		t.Logf("lab: ---- %s links, neighbours, OVS tunnel neighbours, datapath flows ----\n%s%s%s%s", h.Name, links, neigh, tnl, tail(dp, 30))
	}
	l.mu.Lock()
	podmans := slices.Clone(l.podmans)
	l.mu.Unlock()
	for _, p := range podmans {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ps, err := p.CLI(ctx, "ps", "-a")
		cancel()
		t.Logf("lab: ---- podman on %s: ps -a ----\n%s%v", p.Host.Name, ps, err)
	}
	for _, d := range dockers {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		ids, _ := d.CLI(ctx, "ps", "-q")
		for _, id := range strings.Fields(string(ids)) {
			out, err := d.CLI(ctx, "exec", id, "ip", "addr")
			t.Logf("lab: ---- docker container %s on %s: ip addr ----\n%s%v", id, d.Host.Name, out, err)
		}
		cancel()
	}
}

// Leftovers lists what of a lab with this prefix still exists: namespaces,
// its directory, and processes whose command line names the prefix.
// Empty after a proper cleanup.
func Leftovers(prefix string) []string {
	var left []string
	if names, err := netnsList(); err == nil {
		for _, n := range names {
			if strings.HasPrefix(n, prefix+"-") {
				left = append(left, "netns "+n)
			}
		}
	}
	left = append(left, etcNetnsLeftovers(prefix)...)
	for _, base := range []string{os.TempDir(), "/tmp"} {
		d := filepath.Join(base, "ovsnet-"+prefix)
		if _, err := os.Stat(d); err == nil && !slices.Contains(left, "dir "+d) {
			left = append(left, "dir "+d)
		}
	}
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if c := cmdline(pid); strings.Contains(c, prefix+"-") || strings.Contains(c, "ovsnet-"+prefix) {
			left = append(left, fmt.Sprintf("process %d: %s", pid, c))
		}
	}
	return left
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// pidsInNetns returns processes whose network namespace is one of the named ones.
func pidsInNetns(names []string) []int {
	want := map[string]bool{}
	for _, n := range names {
		var st syscall.Stat_t
		if err := syscall.Stat(netnsPath(n), &st); err == nil {
			want[fmt.Sprintf("net:[%d]", st.Ino)] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pid == os.Getpid() {
			continue // the test itself; a thread of it may be visiting
		}
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && want[link] {
			pids = append(pids, pid)
		}
	}
	return pids
}
