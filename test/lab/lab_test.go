//go:build e2e

package lab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLab proves the harness on a real 3-host lab with an outside world.
func TestLab(t *testing.T) {
	l := New(t, Options{Hosts: 3, Outside: true})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Second)
	defer cancel()
	h1, h2 := l.Hosts[0], l.Hosts[1]

	t.Run("underlay", func(t *testing.T) {
		for _, a := range l.Hosts {
			for _, b := range l.Hosts {
				if a != b {
					if err := a.Ping(ctx, b.TunnelIP.String(), 2); err != nil {
						t.Error(err)
					}
				}
			}
		}
		if err := h1.Ping(ctx, l.Outside.Addr.String(), 2); err != nil {
			t.Error(err)
		}
		if err := l.Outside.Ping(ctx, h2.TunnelIP.String(), 1); err != nil {
			t.Error(err)
		}
		// The outside must not know container subnets: only NAT gets answers.
		if out, err := l.Outside.Exec(ctx, "ip", "route", "get", "10.99.0.1"); err == nil {
			t.Errorf("outside has a route to 10.99.0.1: %s", out)
		}
		if out, err := h1.Exec(ctx, "sysctl", "-n", "net.ipv4.ip_forward"); err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Errorf("ip_forward on h1 = %q, %v", out, err)
		}
	})

	t.Run("tcp", func(t *testing.T) {
		// TCP through userspace OVS stalls on unfinished checksums; prove it doesn't.
		iperf(ctx, t, l, "outside", l.Outside.Netns, l.Outside.Addr.String(), h1)
		iperf(ctx, t, l, "h2", h2.Netns, h2.TunnelIP.String(), h1)
	})

	c1 := l.AddContainer(h1, "c1")
	c2 := l.AddContainer(h2, "c2")
	t.Run("vxlan", func(t *testing.T) {
		for _, h := range []*Host{h1, h2} {
			peer := h2
			if h == h2 {
				peer = h1
			}
			if _, err := h.Vsctl("add-br", "br-int",
				"--", "set", "bridge", "br-int", "datapath_type=netdev", "protocols=OpenFlow13,OpenFlow14",
				"--", "add-port", "br-int", "vx0",
				"--", "set", "interface", "vx0", "type=vxlan", "options:remote_ip="+peer.TunnelIP.String(), "options:key=100"); err != nil {
				t.Fatal(err)
			}
		}
		plumb(t, l, c1, "10.99.0.1")
		plumb(t, l, c2, "10.99.0.2")
		if _, err := l.Capture(ctx, "not udp port 4789 and not arp"); err != nil {
			t.Fatal(err) // a second, concurrent capture must work too; cleanup stops it
		}
		stop, err := l.Capture(ctx, "udp port 4789")
		if err != nil {
			t.Fatal(err)
		}
		if err := c1.Ping(ctx, "10.99.0.2", 3); err != nil {
			t.Fatal(err)
		}
		pkts, err := stop()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("capture:\n%s", pkts)
		var icmp, arp int
		for _, line := range strings.Split(strings.TrimSpace(string(pkts)), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != len(CaptureFields) || f[5] != "100" {
				t.Errorf("not a VXLAN packet with VNI 100: %q", line)
				continue
			}
			switch f[6] {
			case "ICMP":
				if f[3] != "192.0.2.1,10.99.0.1" && f[3] != "192.0.2.2,10.99.0.2" {
					t.Errorf("unexpected ICMP addresses: %q", line)
				}
				icmp++
			case "ARP":
				arp++
			}
		}
		if icmp < 6 || arp < 1 {
			t.Errorf("captured %d ICMP and %d ARP packets inside VXLAN, want ≥ 6 and ≥ 1", icmp, arp)
		}
		flows, err := h1.Ofctl("dump-flows", "br-int")
		if err != nil || !strings.Contains(flows, "actions=NORMAL") {
			t.Errorf("ovs-ofctl dump-flows br-int: %q, %v", flows, err)
		}
		if out, err := h1.Appctl("tnl/neigh/show"); err != nil || !strings.Contains(out, h2.TunnelIP.String()) {
			t.Errorf("tnl/neigh/show on h1 lacks %s: %q, %v", h2.TunnelIP, out, err)
		}
	})

	t.Run("ovs-restart", func(t *testing.T) {
		h2.StopOVS()
		if h2.OVSRunning() || c1.PingOnce("10.99.0.2", time.Second) {
			t.Fatal("h2's OVS still forwards after StopOVS")
		}
		h2.StartOVS()
		// Tunnel, bridges and ports come back from the kept database.
		err := poll(20*time.Second, 200*time.Millisecond, func() error {
			if !c1.PingOnce("10.99.0.2", time.Second) {
				return fmt.Errorf("c1 cannot reach c2")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := h1.Ping(ctx, h2.TunnelIP.String(), 1); err != nil {
			t.Error(err)
		}
	})

	t.Run("consul", func(t *testing.T) {
		c := l.StartConsul()
		kv := c.URL() + "/v1/kv/lab/test"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, kv, strings.NewReader("hello"))
		if _, err := httpDo(req); err != nil {
			t.Fatal(err)
		}
		get := func() string {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, kv+"?raw", nil)
			body, err := httpDo(req)
			if err != nil {
				t.Fatal(err)
			}
			return body
		}
		if v := get(); v != "hello" {
			t.Fatalf("get = %q", v)
		}
		c.Stop()
		if c.Running() {
			t.Fatal("consul still running after Stop")
		}
		c.Start()
		if v := get(); v != "hello" {
			t.Fatalf("after restart get = %q", v)
		}
		// Reachable from a host namespace too, at the same address.
		bin, _ := ConsulBinary()
		for _, addr := range []string{c.Addr, c.Socket} {
			out, err := h1.Exec(ctx, bin, "kv", "get", "-http-addr="+addr, "lab/test")
			if err != nil || strings.TrimSpace(string(out)) != "hello" {
				t.Errorf("consul kv get from h1 via %s: %q, %v", addr, out, err)
			}
		}
	})

	t.Run("process", func(t *testing.T) {
		p := l.Start("sleeper", h1.Netns, []string{"LAB_WORD=bar"}, "sh", "-c", `echo "hello $LAB_WORD"; exec sleep 30`)
		if err := poll(5*time.Second, 20*time.Millisecond, func() error {
			if !strings.Contains(p.Log(), "hello bar") {
				return fmt.Errorf("log = %q", p.Log())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !p.Running() {
			t.Fatal("not running")
		}
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.Pid()))
		var st syscall.Stat_t
		if err := syscall.Stat(netnsPath(h1.Netns), &st); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("net:[%d]", st.Ino); ns != want {
			t.Errorf("process in %s, want %s (%s)", ns, want, h1.Netns)
		}
		if err := p.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if p.Running() {
			t.Fatal("running after Stop")
		}
		p.Restart()
		if err := poll(5*time.Second, 20*time.Millisecond, func() error {
			if n := strings.Count(p.Log(), "hello bar"); n != 2 {
				return fmt.Errorf("%d hellos in log %q", n, p.Log())
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		p.Kill()
		if p.Running() {
			t.Fatal("running after Kill")
		}
		// A process that fails is reported as such.
		f := l.Start("failer", "", nil, "sh", "-c", "echo oops >&2; exit 3")
		if err := f.Wait(5 * time.Second); err == nil || !strings.Contains(f.Log(), "oops") {
			t.Errorf("failer: err %v, log %q", err, f.Log())
		}
	})
}

// iperf sends 4 MB over TCP from client to a one-shot iperf3 server in netns.
func iperf(ctx context.Context, t *testing.T, l *Lab, name, netns, addr string, client *Host) {
	t.Helper()
	srv := l.Start("iperf3-"+name, netns, nil, "iperf3", "-s", "-1", "-B", addr)
	err := poll(10*time.Second, 50*time.Millisecond, func() error {
		out, err := l.nsRun(ctx, netns, nil, "ss", "-Hltn", "sport = :5201")
		if err != nil || !strings.Contains(string(out), "LISTEN") {
			return fmt.Errorf("iperf3 server not listening: %q, %v", out, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.Exec(ctx, "iperf3", "-c", addr, "-n", "4M", "--connect-timeout", "3000")
	if err != nil {
		t.Fatalf("iperf3 %s -> %s: %v", client.Name, name, err)
	}
	t.Logf("iperf3 %s -> %s:\n%s", client.Name, name, tail(string(out), 4))
	if err := srv.Wait(10 * time.Second); err != nil {
		t.Error(err)
	}
}

// plumb does by hand what the agent will do: a veth from the container to br-int.
func plumb(t *testing.T, l *Lab, c *Container, addr string) {
	t.Helper()
	h, hostEnd := c.Host, l.Prefix+"-"+c.Name
	if err := l.ipBatch(
		[]string{"-n", h.Netns, "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", c.NetnsName},
		[]string{"-n", h.Netns, "link", "set", hostEnd, "up"},
		[]string{"-n", c.NetnsName, "link", "set", "eth0", "mtu", "1450", "up"},
		[]string{"-n", c.NetnsName, "addr", "add", addr + "/24", "dev", "eth0"},
	); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(t.Context(), "ethtool", "-K", "eth0", "tx", "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Vsctl("add-port", "br-int", hostEnd); err != nil {
		t.Fatal(err)
	}
}

func httpDo(req *http.Request) (string, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, b)
	}
	return string(b), nil
}

// TestCleanup checks that a lab's cleanup leaves nothing behind.
func TestCleanup(t *testing.T) {
	var prefix string
	t.Run("sub", func(t *testing.T) {
		l := New(t, Options{Hosts: 2, Outside: true})
		prefix = l.Prefix
		c := l.AddContainer(l.Hosts[0], "c1")
		l.Start("sleeper", c.NetnsName, nil, "sleep", "60")
		l.Start("root-sleeper", "", nil, "sh", "-c", "sleep 60 & exec sleep 61")
		if _, err := l.Capture(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
	})
	if left := Leftovers(prefix); len(left) > 0 {
		t.Errorf("lab %s left: %q", prefix, left)
	}
}

// TestReaper kills a test binary in the middle of a lab (as go test's
// -timeout does) and checks the reaper removes what cleanup could not.
func TestReaper(t *testing.T) {
	if os.Getenv("OVSNET_LAB_REAPER_CHILD") != "" {
		l := New(t, Options{Hosts: 1})
		l.Start("sleeper", l.Hosts[0].Netns, nil, "sleep", "60")
		fmt.Printf("PREFIX=%s\n", l.Prefix)
		os.Exit(3) // no cleanups run
	}
	RequireRoot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestReaper$", "-test.v")
	cmd.Env = append(os.Environ(), "OVSNET_LAB_REAPER_CHILD=1")
	out, _ := cmd.CombinedOutput()
	var prefix string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "PREFIX="); ok {
			prefix = p
		}
	}
	if prefix == "" {
		t.Fatalf("child did not build a lab:\n%s", out)
	}
	err := poll(15*time.Second, 100*time.Millisecond, func() error {
		if left := Leftovers(prefix); len(left) > 0 {
			return fmt.Errorf("leftovers: %q", left)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
