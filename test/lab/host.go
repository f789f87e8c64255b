package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const vswitchSchema = "/usr/share/openvswitch/vswitch.ovsschema"

// Host is one simulated machine: a namespace with its own userspace OVS.
type Host struct {
	Name     string     // "h1", "h2", ...
	Index    int        // 1-based; TunnelIP is 192.0.2.Index
	Netns    string     // namespace name, "<prefix>-h1"
	TunnelIP netip.Addr // underlay address on br-phy
	OVSDir   string     // OVS_RUNDIR = OVS_DBDIR = OVS_LOGDIR
	Uplink   string     // the host's underlay NIC (a veth owned by br-phy)
	PhyMAC   string     // br-phy's MAC, fixed so peers' neighbour caches survive OVS restarts

	lab     *Lab
	outside bool

	mu sync.Mutex
	db *Process // ovsdb-server
	vs *Process // ovs-vswitchd
}

func (l *Lab) buildHost(i int, outside bool) (*Host, error) {
	name := fmt.Sprintf("h%d", i)
	h := &Host{
		Name:     name,
		Index:    i,
		Netns:    l.Prefix + "-" + name,
		TunnelIP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		OVSDir:   filepath.Join(l.Dir, name),
		Uplink:   fmt.Sprintf("%s-e%d", l.Prefix, i),
		PhyMAC:   fmt.Sprintf("02:00:c0:00:02:%02x", i),
		lab:      l,
		outside:  outside,
	}
	if err := l.addNetns(h.Netns); err != nil {
		return nil, err
	}
	if err := l.plugWire(fmt.Sprintf("%s-u%d", l.Prefix, i), h.Uplink, h.Netns); err != nil {
		return h, err
	}
	if err := os.Mkdir(h.OVSDir, 0o755); err != nil {
		return h, fmt.Errorf("ovs dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := run(ctx, h.Env(), "ovsdb-tool", "create", filepath.Join(h.OVSDir, "conf.db"), vswitchSchema); err != nil {
		return h, err
	}
	if err := h.startOVS(true); err != nil {
		return h, err
	}
	if outside {
		// The agent NATs container traffic out through the host's own stack.
		if _, err := h.Exec(ctx, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
			return h, err
		}
	}
	return h, nil
}

// Env is the environment that points OVS tools at this host's OVS; pass it
// to Lab.Start for processes that use ovs-vsctl/ovs-ofctl/ovs-appctl by name.
func (h *Host) Env() []string {
	return []string{"OVS_RUNDIR=" + h.OVSDir, "OVS_DBDIR=" + h.OVSDir, "OVS_LOGDIR=" + h.OVSDir}
}

// OVSDB is the database endpoint, "unix:<OVSDir>/db.sock".
func (h *Host) OVSDB() string { return "unix:" + filepath.Join(h.OVSDir, "db.sock") }

// Mgmt is the OpenFlow management socket of a bridge on this host.
func (h *Host) Mgmt(bridge string) string { return "unix:" + filepath.Join(h.OVSDir, bridge+".mgmt") }

// WaitMgmt waits (≤ 10 s) until ovs-vswitchd has made a bridge's
// management socket, and returns it: a bridge created through OVSDB
// appears in ovs-vswitchd a moment after the transaction commits.
func (h *Host) WaitMgmt(bridge string) string {
	h.lab.t.Helper()
	path := filepath.Join(h.OVSDir, bridge+".mgmt")
	if err := poll(10*time.Second, 20*time.Millisecond, func() error {
		_, err := os.Stat(path)
		return err
	}); err != nil {
		h.lab.t.Fatalf("lab: %s has no management socket for %s: %v", h.Name, bridge, err)
	}
	return h.Mgmt(bridge)
}

// Exec runs a command inside the host namespace (nsenter --net) with Env
// set, and returns its stdout; the error includes stderr.
func (h *Host) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	return h.lab.nsRun(ctx, h.Netns, h.Env(), name, args...)
}

// Ping pings from the host namespace; see Container.Ping.
func (h *Host) Ping(ctx context.Context, addr string, count int) error {
	return ping(ctx, h.lab, h.Netns, addr, count)
}

// Vsctl runs ovs-vsctl against this host's database (10 s timeout) and
// returns its trimmed stdout.
func (h *Host) Vsctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	out, err := run(ctx, nil, "ovs-vsctl", append([]string{"--db=" + h.OVSDB(), "--timeout=10"}, args...)...)
	return strings.TrimSpace(string(out)), err
}

// Ofctl runs ovs-ofctl -O OpenFlow14 with OVS_RUNDIR set, so a bridge name
// such as "br-int" resolves to <OVSDir>/br-int.mgmt.
func (h *Host) Ofctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := run(ctx, h.Env(), "ovs-ofctl", append([]string{"-O", "OpenFlow14"}, args...)...)
	return strings.TrimRight(string(out), "\n"), err
}

// Appctl runs ovs-appctl against this host's ovs-vswitchd
// (<OVSDir>/ovs-vswitchd.<pid>.ctl, the pid read from its pidfile).
func (h *Host) Appctl(args ...string) (string, error) {
	ctl, err := h.ctlPath("ovs-vswitchd")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := run(ctx, h.Env(), "ovs-appctl", append([]string{"--timeout=10", "-t", ctl}, args...)...)
	return strings.TrimRight(string(out), "\n"), err
}

func (h *Host) ctlPath(daemon string) (string, error) {
	b, err := os.ReadFile(filepath.Join(h.OVSDir, daemon+".pid"))
	if err != nil {
		return "", fmt.Errorf("%s: %s not running: %w", h.Name, daemon, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("%s: bad %s pidfile: %w", h.Name, daemon, err)
	}
	return filepath.Join(h.OVSDir, fmt.Sprintf("%s.%d.ctl", daemon, pid)), nil
}

// StopOVS stops this host's ovs-vswitchd and ovsdb-server (SIGTERM, by
// pid), keeping the database. The kernel side of br-phy and of every other
// OVS internal port disappears with ovs-vswitchd. Call from the test goroutine.
func (h *Host) StopOVS() {
	h.lab.t.Helper()
	if err := h.stopOVS(); err != nil {
		h.lab.t.Errorf("lab: %s: stop OVS: %v", h.Name, err)
	}
}

// StartOVS starts OVS again on the kept database and restores the
// underlay address and routes on the recreated br-phy. Call from the test
// goroutine.
func (h *Host) StartOVS() {
	h.lab.t.Helper()
	if err := h.startOVS(false); err != nil {
		h.lab.t.Fatalf("lab: %s: start OVS: %v", h.Name, err)
	}
}

// OVSRunning reports whether both OVS daemons of the host are running.
func (h *Host) OVSRunning() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.db != nil && h.vs != nil && h.db.Running() && h.vs.Running()
}

func (h *Host) stopOVS() error {
	h.mu.Lock()
	db, vs := h.db, h.vs
	h.mu.Unlock()
	var errs []error
	for _, p := range []*Process{vs, db} {
		if p != nil && p.Running() {
			errs = append(errs, p.Stop())
		}
	}
	return errors.Join(errs...)
}

// KillVswitchd kills this host's ovs-vswitchd (SIGKILL: a crash); the
// database keeps running. Call from the test goroutine.
func (h *Host) KillVswitchd() {
	h.mu.Lock()
	vs := h.vs
	h.mu.Unlock()
	if vs != nil {
		vs.Kill()
	}
}

// StartVswitchd starts ovs-vswitchd again and restores br-phy's address.
func (h *Host) StartVswitchd() {
	h.lab.t.Helper()
	if err := h.startVswitchd(false); err != nil {
		h.lab.t.Fatalf("lab: %s: start ovs-vswitchd: %v", h.Name, err)
	}
}

// KillOVSDB kills this host's ovsdb-server (SIGKILL); ovs-vswitchd keeps
// forwarding with what it has. Call from the test goroutine.
func (h *Host) KillOVSDB() {
	h.mu.Lock()
	db := h.db
	h.mu.Unlock()
	if db != nil {
		db.Kill()
	}
}

// StartOVSDB starts ovsdb-server again on the kept database.
func (h *Host) StartOVSDB() {
	h.lab.t.Helper()
	if err := h.startDB(); err != nil {
		h.lab.t.Fatalf("lab: %s: start ovsdb-server: %v", h.Name, err)
	}
}

func (h *Host) startOVS(first bool) error {
	if h.OVSRunning() {
		return errors.New("OVS is already running")
	}
	if err := h.startDB(); err != nil {
		return err
	}
	return h.startVswitchd(first)
}

func (h *Host) startDB() error {
	l, dir := h.lab, h.OVSDir
	// `ip netns exec` (as in the recipe) gives the daemons a /sys that
	// matches the namespace; it execs, so the pid is the daemon's.
	nsExec := []string{"ip", "netns", "exec", h.Netns}
	db := l.newProcess(h.Name+"-ovsdb-server", filepath.Join(dir, "ovsdb-server.out"), h.Env(), append(nsExec,
		"ovsdb-server", filepath.Join(dir, "conf.db"),
		"--remote=punix:"+filepath.Join(dir, "db.sock"),
		"--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
		"--pidfile="+filepath.Join(dir, "ovsdb-server.pid"),
		"--log-file="+filepath.Join(dir, "ovsdb-server.log")))
	if err := db.start(); err != nil {
		return err
	}
	h.mu.Lock()
	h.db = db
	h.mu.Unlock()
	err := poll(10*time.Second, 50*time.Millisecond, func() error {
		if !db.Running() {
			return fmt.Errorf("ovsdb-server exited: %s", tail(db.Log(), 5))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := run(ctx, nil, "ovs-vsctl", "--db="+h.OVSDB(), "--no-wait", "--timeout=2", "init")
		return err
	})
	if err != nil {
		return fmt.Errorf("ovsdb-server not ready: %w", err)
	}
	return nil
}

func (h *Host) startVswitchd(first bool) error {
	l, dir := h.lab, h.OVSDir
	nsExec := []string{"ip", "netns", "exec", h.Netns}
	os.Remove(filepath.Join(dir, "ovs-vswitchd.pid")) // so readiness below sees the new one
	vs := l.newProcess(h.Name+"-ovs-vswitchd", filepath.Join(dir, "ovs-vswitchd.out"), h.Env(), append(nsExec,
		"ovs-vswitchd", h.OVSDB(),
		"--pidfile="+filepath.Join(dir, "ovs-vswitchd.pid"),
		"--log-file="+filepath.Join(dir, "ovs-vswitchd.log")))
	if err := vs.start(); err != nil {
		return err
	}
	h.mu.Lock()
	h.vs = vs
	h.mu.Unlock()
	err := poll(10*time.Second, 50*time.Millisecond, func() error {
		if !vs.Running() {
			return fmt.Errorf("ovs-vswitchd exited: %s", tail(vs.Log(), 5))
		}
		_, err := h.Appctl("version")
		return err
	})
	if err != nil {
		return fmt.Errorf("ovs-vswitchd not ready: %w", err)
	}
	if first {
		// Without --no-wait, ovs-vsctl returns once ovs-vswitchd has created br-phy.
		if _, err := h.Vsctl("add-br", "br-phy",
			"--", "set", "bridge", "br-phy", "datapath_type=netdev", "other_config:hwaddr=\""+h.PhyMAC+"\"",
			"--", "add-port", "br-phy", h.Uplink); err != nil {
			return err
		}
	}
	return h.configurePhy()
}

// configurePhy puts the underlay address and routes on br-phy's kernel
// side, which ovs-vswitchd recreates (empty) each time it starts.
func (h *Host) configurePhy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := poll(10*time.Second, 50*time.Millisecond, func() error {
		_, err := run(ctx, nil, "ip", "-n", h.Netns, "link", "show", "br-phy")
		return err
	})
	if err != nil {
		return fmt.Errorf("br-phy did not appear: %w", err)
	}
	if err := h.lab.noIPv6(h.Netns, "br-phy"); err != nil {
		return err
	}
	cmds := [][]string{
		{"-n", h.Netns, "addr", "replace", h.TunnelIP.String() + "/24", "dev", "br-phy"},
		{"-n", h.Netns, "link", "set", "br-phy", "up"},
	}
	if h.outside {
		cmds = append(cmds, []string{"-n", h.Netns, "route", "replace", outsidePrefix.String(), "via", outsideWireIP.String(), "dev", "br-phy"})
	}
	return h.lab.ipBatch(cmds...)
}
