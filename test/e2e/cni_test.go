//go:build e2e

package e2e

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// installCNI runs deploy/cni/install.sh for host h: the plugin into binDir,
// a conflist per network into confDir, pointing at h's agent.
func installCNI(t *testing.T, c *cluster.Cluster, h *lab.Host, binDir, confDir string, networks ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--plugin", c.Bins["ovsnet-cni"], "--bin-dir", binDir, "--conf-dir", confDir,
		"--socket", c.CNISocket(h)}, networks...)
	out, err := exec.CommandContext(ctx, filepath.Join(repoRoot(t), "deploy", "cni", "install.sh"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("deploy/cni/install.sh: %v\n%s", err, out)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// cnitool is the CNI project's own runtime in a binary, built from the
// module ovsnet already requires.
type cnitool struct {
	bin, pluginDir, confDir string
	host                    *lab.Host
}

func buildCnitool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cnitool")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/containernetworking/cni/cnitool")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cnitool: %v\n%s", err, out)
	}
	return bin
}

// run executes `cnitool OP NET NETNS` inside the host's namespace, as a
// runtime there would; env adds CNI_ARGS and the like.
func (ct *cnitool) run(op, network, netns string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+ct.host.Netns, "--", ct.bin, op, network, netns)
	cmd.Env = append(os.Environ(), append([]string{"CNI_PATH=" + ct.pluginDir, "NETCONFPATH=" + ct.confDir}, env...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// cnitoolContainerID is the CNI_CONTAINERID cnitool uses for a namespace.
func cnitoolContainerID(netns string) string {
	s := sha512.Sum512([]byte(netns))
	return fmt.Sprintf("cnitool-%x", s[:10])
}

// libcni caches results under /var/lib/cni; a failed test may leave its
// containers' entries there.
func removeCNICache(t *testing.T, containerIDs ...string) {
	t.Cleanup(func() {
		for _, id := range containerIDs {
			files, _ := filepath.Glob("/var/lib/cni/results/*-" + id + "-*")
			for _, f := range files {
				os.Remove(f)
			}
		}
	})
}

func endpointOf(c *cluster.Cluster, network, name string) (model.EndpointView, bool) {
	eps, err := c.API.ListEndpoints(context.Background(), network, "")
	if err != nil {
		return model.EndpointView{}, false
	}
	for _, ep := range eps {
		if ep.ContainerName == name {
			return ep, true
		}
	}
	return model.EndpointView{}, false
}

// The CNI plugin driven by cnitool, the CNI project's reference runtime,
// through the real agent, controller and OVS: ADD with a name, traffic
// and names across hosts, CHECK and drift, ADD twice, DEL (twice, and of
// what was never added), bad configurations, STATUS and GC.
func TestCNIWithCnitool(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, CNI: true})
	h1, h2 := c.Lab.Hosts[0], c.Lab.Hosts[1]
	bin := buildCnitool(t)
	tools := map[string]*cnitool{}
	for _, h := range c.Lab.Hosts {
		ct := &cnitool{bin: bin, host: h, pluginDir: filepath.Join(c.Lab.Dir, h.Name+"-cni-bin"), confDir: filepath.Join(c.Lab.Dir, h.Name+"-net.d")}
		installCNI(t, c, h, ct.pluginDir, ct.confDir, "testnet02")
		tools[h.Name] = ct
	}
	c.CreateNetwork("testnet02")
	c.CreateNetwork("testnet05")
	pod1, pod2, pod3, pod4 := c.Lab.AddContainer(h1, "pod1"), c.Lab.AddContainer(h2, "pod2"), c.Lab.AddContainer(h1, "pod3"), c.Lab.AddContainer(h1, "pod4")
	removeCNICache(t, cnitoolContainerID(pod1.Netns), cnitoolContainerID(pod2.Netns), cnitoolContainerID(pod3.Netns), cnitoolContainerID(pod4.Netns))

	// ADD on both hosts, names from CNI_ARGS.
	add := func(ct *cnitool, pod *lab.Container, name string) string {
		t.Helper()
		start := time.Now()
		out, err := ct.run("add", "testnet02", pod.Netns, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME="+name)
		if err != nil {
			t.Fatalf("cnitool add %s: %v\n%s", name, err, out)
		}
		var res struct {
			CNIVersion string
			Interfaces []struct{ Name, Mac, Sandbox string }
			IPs        []struct{ Address, Gateway string }
			DNS        struct{ Nameservers []string }
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.IPs) != 1 || len(res.Interfaces) != 1 {
			t.Fatalf("cnitool add %s printed %s (%v)", name, out, err)
		}
		if res.CNIVersion != "1.1.0" || res.Interfaces[0].Name != "eth0" || res.Interfaces[0].Sandbox != pod.Netns ||
			res.IPs[0].Gateway != "10.0.0.1" || len(res.DNS.Nameservers) != 1 || res.DNS.Nameservers[0] != "10.0.0.1" {
			t.Fatalf("cnitool add %s: result %+v", name, res)
		}
		t.Logf("ADD %s on %s: %s in %v", name, ct.host.Name, res.IPs[0].Address, time.Since(start).Round(time.Millisecond))
		return strings.TrimSuffix(res.IPs[0].Address, "/24")
	}
	ip1 := add(tools["h1"], pod1, "web")
	ip2 := add(tools["h2"], pod2, "mysql01")
	if ip1 == ip2 || !strings.HasPrefix(ip1, "10.0.0.") || !strings.HasPrefix(ip2, "10.0.0.") {
		t.Fatalf("addresses %s and %s", ip1, ip2)
	}
	if addrs := cluster.Addrs(t, pod1); len(addrs["eth0"]) != 1 || addrs["eth0"][0] != ip1+"/24" {
		t.Fatalf("pod1's interfaces: %v", addrs)
	}
	// Reachable across hosts, by address and by name.
	cluster.WaitPing(t, pod1, ip2, 10*time.Second)
	cluster.WaitPing(t, pod2, ip1, 10*time.Second)
	if out, err := getent(pod1, "ahostsv4", "mysql01.testnet02"); err != nil || !strings.HasPrefix(out, ip2) {
		t.Fatalf("web resolves mysql01.testnet02: %q %v", out, err)
	}
	if out, err := getent(pod2, "ahostsv4", "web"); err != nil || !strings.HasPrefix(out, ip1) {
		t.Fatalf("mysql01 resolves web: %q %v", out, err)
	}
	// The cluster sees them: ovsnetctl, and the stock docker CLI at the controller.
	ls := c.MustCtl("endpoint", "ls")
	if !regexp.MustCompile(`(?m)\sh1\s+web\s`).MatchString(ls) || !regexp.MustCompile(`(?m)\sh2\s+mysql01\s`).MatchString(ls) {
		t.Fatalf("ovsnetctl endpoint ls:\n%s", ls)
	}
	insp := dockerCLIAt(t, c, "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}};{{end}}", "testnet02")
	if !strings.Contains(insp, "web "+ip1+"/24") || !strings.Contains(insp, "mysql01 "+ip2+"/24") {
		t.Fatalf("docker network inspect testnet02 at the controller: %s", insp)
	}

	// CHECK: fine after ADD; drift reported in words.
	if out, err := tools["h1"].run("check", "testnet02", pod1.Netns); err != nil {
		t.Fatalf("cnitool check: %v\n%s", err, out)
	}
	cluster.Exec(t, pod1, "ip", "addr", "del", ip1+"/24", "dev", "eth0")
	out, err := tools["h1"].run("check", "testnet02", pod1.Netns)
	if err == nil || !strings.Contains(out, "eth0 lacks its address "+ip1+"/24") {
		t.Fatalf("cnitool check after the address was removed: %v\n%s", err, out)
	}
	cluster.Exec(t, pod1, "ip", "addr", "add", ip1+"/24", "dev", "eth0")
	cluster.Exec(t, pod1, "ip", "route", "replace", "default", "via", "10.0.0.1")

	// ADD twice: refused, nothing changes.
	before := len(c.Endpoints("testnet02"))
	out, err = tools["h2"].run("add", "testnet02", pod2.Netns, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=mysql01")
	if err == nil || !strings.Contains(out, "already has interface eth0 on ovsnet network testnet02") {
		t.Fatalf("second ADD: %v\n%s", err, out)
	}
	if n := len(c.Endpoints("testnet02")); n != before {
		t.Fatalf("second ADD changed the endpoints: %d → %d", before, n)
	}
	cluster.WaitPing(t, pod1, ip2, 10*time.Second)

	// Bad input: clear errors, nothing created.
	bad := filepath.Join(c.Lab.Dir, "bad-net.d")
	os.MkdirAll(bad, 0o755)
	write := func(name, plugin string) {
		conf := `{"cniVersion":"1.0.0","name":"` + name + `","plugins":[` + plugin + `]}`
		if err := os.WriteFile(filepath.Join(bad, name+".conflist"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sock := c.CNISocket(h1)
	write("nonet", `{"type":"ovsnet-cni","network":"testnet99","socket":"`+sock+`"}`)
	write("ipam", `{"type":"ovsnet-cni","network":"testnet02","socket":"`+sock+`","ipam":{"type":"host-local"}}`)
	write("noagent", `{"type":"ovsnet-cni","network":"testnet02","socket":"`+filepath.Join(c.Lab.Dir, "nobody.sock")+`"}`)
	badTool := &cnitool{bin: bin, host: h1, pluginDir: tools["h1"].pluginDir, confDir: bad}
	for _, tc := range []struct{ network, netns, want string }{
		{"nonet", pod3.Netns, "ovsnet network testnet99 does not exist: create it first"},
		{"ipam", pod3.Netns, `ovsnet-cni takes addresses from ovsnet's own IPAM (the controller); remove "ipam"`},
		{"noagent", pod3.Netns, "the ovsnet agent does not answer on"},
	} {
		out, err := badTool.run("add", tc.network, tc.netns)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("add with configuration %s: %v\n%s\nwant %q", tc.network, err, out, tc.want)
		}
	}
	for _, netns := range []string{"/etc/hostname", "/run/netns/" + c.Lab.Prefix + "-nosuch"} {
		out, err := tools["h1"].run("add", "testnet02", netns)
		if err == nil || !strings.Contains(out, "CNI_NETNS") {
			t.Errorf("add into %s: %v\n%s", netns, err, out)
		}
	}
	if n := len(c.Endpoints("")); n != before {
		t.Fatalf("bad input created endpoints: %d → %d", before, n)
	}
	if addrs := cluster.Addrs(t, pod3); len(addrs) != 1 {
		t.Fatalf("pod3 got interfaces from bad input: %v", addrs)
	}

	// STATUS (CNI 1.1): ready.
	if out, err := tools["h1"].run("status", "testnet02", pod1.Netns); err != nil {
		t.Fatalf("cnitool status: %v\n%s", err, out)
	}

	// DEL: the endpoint and the interface go at once, the address is free;
	// again and again, and for what was never added, DEL succeeds.
	for i := 0; i < 3; i++ {
		start := time.Now()
		if out, err := tools["h1"].run("del", "testnet02", pod1.Netns); err != nil {
			t.Fatalf("cnitool del #%d: %v\n%s", i+1, err, out)
		}
		t.Logf("DEL #%d of web: %v", i+1, time.Since(start).Round(time.Millisecond))
		if _, ok := endpointOf(c, "testnet02", "web"); ok {
			t.Fatalf("web still has an endpoint after DEL #%d", i+1)
		}
		if addrs := cluster.Addrs(t, pod1); len(addrs) != 1 {
			t.Fatalf("pod1 keeps interfaces after DEL: %v", addrs)
		}
	}
	if out, err := tools["h1"].run("del", "testnet02", pod4.Netns); err != nil {
		t.Fatalf("DEL of a container never added: %v\n%s", err, out)
	}
	if ip3 := add(tools["h1"], pod3, "web2"); ip3 != ip1 {
		t.Fatalf("the address DEL freed (%s) was not reused: got %s", ip1, ip3)
	}

	// GC (cnitool gives no valid attachments): every attachment of this
	// host's runtime on the network goes, the other host's stays.
	add(tools["h1"], pod4, "web3")
	if out, err := tools["h1"].run("gc", "testnet02", pod1.Netns); err != nil {
		t.Fatalf("cnitool gc: %v\n%s", err, out)
	}
	for _, name := range []string{"web2", "web3"} {
		if _, ok := endpointOf(c, "testnet02", name); ok {
			t.Errorf("%s survived GC", name)
		}
	}
	if _, ok := endpointOf(c, "testnet02", "mysql01"); !ok {
		t.Fatal("GC on h1 removed h2's mysql01")
	}
	if out, err := tools["h2"].run("del", "testnet02", pod2.Netns); err != nil {
		t.Fatalf("cnitool del mysql01: %v\n%s", err, out)
	}
}

// dockerCLIAt runs the stock docker CLI against the controller.
func dockerCLIAt(t *testing.T, c *cluster.Cluster, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", append([]string{"-H", "tcp://" + c.Controllers[0].Addr}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s at the controller: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// podmanOn runs podman on a host and fails the test on error.
func podmanOn(t *testing.T, p *lab.Podman, args ...string) string {
	t.Helper()
	out, err := p.CLI(context.Background(), args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return strings.TrimSpace(string(out))
}

// Podman 4.3 (CNI backend) on h1 and Docker on h2 on one ovsnet network:
// addresses from one IPAM, ping and names both ways, isolation from
// another network, the cluster's views, and podman rm freeing the address.
func TestPodmanAndDockerOnOneNetwork(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, Docker: true, CNI: true})
	h1 := c.Lab.Hosts[0]
	d2 := c.Dockers["h2"]
	pm := h1.StartPodman()
	installCNI(t, c, h1, pm.PluginDir, pm.ConfDir, "testnet02", "testnet05", "ghostnet")

	dockerOn(t, d2, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "testnet02")
	dockerOn(t, d2, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "testnet05")
	dockerOn(t, d2, "run", "-d", "--name", "mysql01", "--net", "testnet02", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
	dockerOn(t, d2, "run", "-d", "--name", "other", "--net", "testnet05", "busybox:local", "sleep", "600")
	dockerIP := containerIP(t, d2, "mysql01", "testnet02")

	// Podman names its networks after the conflists: testnet02 is there.
	if out := podmanOn(t, pm, "network", "ls", "--format", "{{.Name}} {{.Driver}}"); !strings.Contains(out, "testnet02 ovsnet-cni") {
		t.Fatalf("podman network ls:\n%s", out)
	}
	start := time.Now()
	podmanOn(t, pm, "run", "-d", "--name", "web", "--network", "testnet02", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
	ran := time.Since(start)
	var firstPing time.Duration
	cluster.Poll(t, 20*time.Second, "web (podman, h1) pings mysql01 (docker, h2) by name", func() error {
		out, err := pm.CLI(context.Background(), "exec", "web", "ping", "-c", "1", "-W", "1", "mysql01")
		if err != nil {
			return err
		}
		if firstPing == 0 {
			firstPing = time.Since(start)
		}
		if !strings.Contains(string(out), "1 packets received") {
			return errorf("%s", out)
		}
		return nil
	})
	t.Logf("podman run took %v; first ping by name from it answered %v after the run started", ran.Round(time.Millisecond), firstPing.Round(time.Millisecond))

	podIP := podmanOn(t, pm, "inspect", "-f", "{{(index .NetworkSettings.Networks \"testnet02\").IPAddress}}", "web")
	if !strings.HasPrefix(podIP, "10.0.0.") || podIP == dockerIP {
		t.Fatalf("podman's web has %q, docker's mysql01 %q: want two addresses of 10.0.0.0/24", podIP, dockerIP)
	}
	if out := podmanOn(t, pm, "exec", "web", "ip", "-o", "addr", "show", "eth0"); !strings.Contains(out, podIP+"/24") {
		t.Fatalf("web's eth0: %s", out)
	}
	t.Logf("web's resolv.conf: %s", podmanOn(t, pm, "exec", "web", "cat", "/etc/resolv.conf"))
	// Both ways, by name and by address, TCP too.
	for _, cmd := range [][]string{
		{"ping", "-c", "2", "-W", "2", dockerIP},
		{"timeout", "10", "wget", "-q", "-O-", "http://mysql01/hostname"},
	} {
		if out, err := pm.CLI(context.Background(), append([]string{"exec", "web"}, cmd...)...); err != nil {
			t.Fatalf("podman web: %s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	for _, cmd := range [][]string{
		{"ping", "-c", "2", "-W", "2", "web"},
		{"ping", "-c", "2", "-W", "2", podIP},
		{"timeout", "10", "wget", "-q", "-O-", "http://web.testnet02/hostname"},
	} {
		if out, err := tryDocker(d2, append([]string{"exec", "mysql01"}, cmd...)...); err != nil {
			t.Fatalf("docker mysql01: %s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	// Isolation: a container on testnet05 reaches neither.
	if out, err := tryDocker(d2, "exec", "other", "ping", "-c", "1", "-W", "1", podIP); err == nil {
		t.Fatalf("testnet05 reaches podman's web on testnet02:\n%s", out)
	}
	if out, err := tryDocker(d2, "exec", "other", "nslookup", "web"); err == nil && strings.Contains(out, podIP) {
		t.Fatalf("testnet05 resolves web:\n%s", out)
	}

	// A configuration for a network ovsnet does not have: Podman says why,
	// and nothing is left behind.
	out, err := pm.CLI(context.Background(), "run", "--rm", "--network", "ghostnet", "busybox:local", "true")
	if err == nil || !strings.Contains(string(out), "ovsnet network ghostnet does not exist: create it first") {
		t.Fatalf("podman run on a network ovsnet does not have: %v\n%s", err, out)
	}
	if n := len(c.Endpoints("")); n != 3 {
		t.Fatalf("after the failed run: %d endpoints, want 3", n)
	}

	// The cluster's views show the Podman container.
	ep, ok := endpointOf(c, "testnet02", "web")
	if !ok || ep.Host != "h1" || ep.IPv4.Addr().String() != podIP || !strings.HasPrefix(ep.Netns, "/run/netns/") {
		t.Fatalf("ovsnet's endpoint of web: %+v (found %v)", ep, ok)
	}
	insp := dockerCLIAt(t, c, "network", "inspect", "-f", "{{range .Containers}}{{.Name}};{{end}}", "testnet02")
	if !strings.Contains(insp, "web;") || !strings.Contains(insp, "mysql01") {
		t.Fatalf("docker network inspect at the controller: %s", insp)
	}

	// podman rm frees the address: the next container gets it.
	podmanOn(t, pm, "rm", "-f", "-t", "0", "web")
	if _, ok := endpointOf(c, "testnet02", "web"); ok {
		t.Fatal("web's endpoint survived podman rm")
	}
	podmanOn(t, pm, "run", "-d", "--name", "web2", "--network", "testnet02", "busybox:local", "sleep", "600")
	if ip := podmanOn(t, pm, "inspect", "-f", "{{(index .NetworkSettings.Networks \"testnet02\").IPAddress}}", "web2"); ip != podIP {
		t.Fatalf("web2 got %s, not the address podman rm freed (%s)", ip, podIP)
	}
	// A container on two networks (two conflists): two interfaces.
	podmanOn(t, pm, "run", "-d", "--name", "both", "--network", "testnet02,testnet05", "busybox:local", "sleep", "600")
	if out := podmanOn(t, pm, "exec", "both", "ip", "-o", "-4", "addr"); !strings.Contains(out, "eth0") || !strings.Contains(out, "eth1") {
		t.Fatalf("both's addresses:\n%s", out)
	}
	if out := dockerOn(t, d2, "exec", "other", "ping", "-c", "2", "-W", "2", "both"); !strings.Contains(out, "2 packets received") {
		t.Fatalf("other (testnet05) → both:\n%s", out)
	}
	podmanOn(t, pm, "rm", "-f", "-t", "0", "web2", "both")
	if eps := c.Endpoints(""); len(eps) != 2 {
		t.Fatalf("after podman rm, endpoints: %+v", eps)
	}
}

// podman run -p publishes a port as docker run -p does: the outside world
// reaches the container through its host's address, the port shows in
// ovsnetctl, a second container asking for the same host port is refused
// with the controller's words and leaves nothing behind, and podman rm
// frees the host port for the next container.
func TestPodmanPublishedPorts(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1, Outside: true, CNI: true})
	h1 := c.Lab.Hosts[0]
	pm := h1.StartPodman()
	c.CreateNetwork("testnet02", "--subnet", "10.0.0.0/24")
	c.CreateNetwork("testnet03", "--internal")
	c.CreateNetwork("testnet04", "--subnet", "10.0.4.0/24")
	installCNI(t, c, h1, pm.PluginDir, pm.ConfDir, "testnet02", "testnet03", "testnet04")

	fetch := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := c.Lab.Outside.Exec(ctx, "busybox", "wget", "-q", "-O-", "http://"+h1.TunnelIP.String()+":8081/hostname")
		return strings.TrimSpace(string(out)), err
	}
	serve := func(name, networks string) {
		podmanOn(t, pm, "run", "-d", "--name", name, "--hostname", name, "--network", networks, "-p", "8081:80",
			"busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
		cluster.Poll(t, 20*time.Second, name+"'s published port answers from the outside", func() error {
			if out, err := fetch(); err != nil || out != name {
				return errorf("wget: %q %v", out, err)
			}
			return nil
		})
	}
	serve("web", "testnet02")
	if out := c.MustCtl("endpoint", "ls", "--network", "testnet02"); !strings.Contains(out, "8081->80/tcp") {
		t.Fatalf("ovsnetctl endpoint ls does not show the published port:\n%s", out)
	}

	// The same host port again: refused, nothing left of the second one.
	out, err := pm.CLI(context.Background(), "run", "-d", "--name", "web2", "--network", "testnet02", "-p", "8081:8000",
		"busybox:local", "sleep", "600")
	if err == nil || !strings.Contains(string(out)+err.Error(), "host port tcp/8081 on h1 is already published by container web") {
		t.Fatalf("a second container publishing host port 8081: err=%v\n%s", err, out)
	}
	// Internal networks reach nothing outside: no published ports.
	out, err = pm.CLI(context.Background(), "run", "-d", "--name", "web3", "--network", "testnet03", "-p", "8082:80",
		"busybox:local", "sleep", "600")
	if err == nil || !strings.Contains(string(out)+err.Error(), "testnet03 is internal") {
		t.Fatalf("publishing from an internal network: err=%v\n%s", err, out)
	}
	if eps := c.Endpoints(""); len(eps) != 1 || eps[0].ContainerName != "web" {
		t.Fatalf("after the refused containers, endpoints: %+v", eps)
	}
	if out, err := fetch(); err != nil || out != "web" {
		t.Fatalf("web stopped answering after the refusals: %q %v", out, err)
	}

	// podman rm unpublishes; the next container can take the port, also
	// one on two networks (Podman hands its ports to both).
	_, _ = pm.CLI(context.Background(), "rm", "-f", "-t", "0", "web2", "web3")
	podmanOn(t, pm, "rm", "-f", "-t", "0", "web")
	if out, err := fetch(); err == nil {
		t.Fatalf("host port 8081 still answers after podman rm: %q", out)
	}
	serve("web4", "testnet02,testnet04")
	if eps := c.Endpoints(""); len(eps) != 2 {
		t.Fatalf("web4 on two networks: endpoints %+v", eps)
	}
	podmanOn(t, pm, "rm", "-f", "-t", "0", "web4")
	if eps := c.Endpoints(""); len(eps) != 0 {
		t.Fatalf("after podman rm web4, endpoints: %+v", eps)
	}
}
