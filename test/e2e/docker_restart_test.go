//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// pluginCall posts one plugin protocol call to a host's plugin socket, as
// Docker does, and returns the status and body.
func pluginCall(t *testing.T, socket, method, body string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	resp, err := hc.Post("http://plugin/"+method, "application/vnd.docker.plugins.v1+json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = fmt.Fprint(b, readAll(resp))
	return resp.StatusCode, b.String()
}

func readAll(resp *http.Response) string {
	buf := make([]byte, 64*1024)
	n, _ := resp.Body.Read(buf)
	return string(buf[:n])
}

// Plugin calls for ids the plugin does not know succeed where Docker
// expects it; unknown methods answer 404 (not implemented).
func TestDockerPluginProtocolEdges(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1, Docker: true})
	_, plugins := c.Lab.Hosts[0].DockerPaths()
	sock := plugins + "/ovsnet.sock"
	unknown := strings.Repeat("ab", 32)
	for _, m := range []string{"NetworkDriver.Leave", "NetworkDriver.DeleteEndpoint", "NetworkDriver.DeleteNetwork"} {
		for range 2 { // and idempotently
			code, body := pluginCall(t, sock, m, fmt.Sprintf(`{"NetworkID":%q,"EndpointID":%q}`, unknown, unknown))
			if code != 200 || strings.Contains(body, "Err") {
				t.Errorf("%s with unknown ids: %d %s", m, code, body)
			}
		}
	}
	code, body := pluginCall(t, sock, "Plugin.Activate", "")
	if code != 200 || !strings.Contains(body, "NetworkDriver") || !strings.Contains(body, "IpamDriver") {
		t.Errorf("activate: %d %s", code, body)
	}
	code, body = pluginCall(t, sock, "NetworkDriver.GetCapabilities", "")
	if code != 200 || !strings.Contains(body, `"Scope":"local"`) {
		t.Errorf("capabilities: %d %s", code, body)
	}
	if code, _ := pluginCall(t, sock, "NetworkDriver.NoSuchCall", "{}"); code != 404 {
		t.Errorf("unknown call: %d, want 404", code)
	}
	code, body = pluginCall(t, sock, "IpamDriver.RequestAddress", `{"PoolID":"nonsense","Address":""}`)
	if code == 200 || !strings.Contains(body, "unknown pool") {
		t.Errorf("address from an unknown pool: %d %s", code, body)
	}
	code, body = pluginCall(t, sock, "NetworkDriver.CreateEndpoint", `{broken`)
	if code == 200 || !strings.Contains(body, "invalid request") {
		t.Errorf("malformed request: %d %s", code, body)
	}
}

// Restarting the agent keeps running containers connected; restarting
// dockerd keeps its containers and their addresses; the agent is back in
// sync with Docker after either.
func TestDockerRestarts(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, Docker: true})
	d1, d2 := c.Dockers["h1"], c.Dockers["h2"]
	c.CreateNetwork("testnet02")
	for _, d := range []interface {
		CLI(context.Context, ...string) ([]byte, error)
	}{d1, d2} {
		cluster.Poll(t, 15*time.Second, "testnet02 in the engines", func() error {
			out, err := d.CLI(context.Background(), "network", "ls", "--format", "{{.Name}}")
			if err != nil || !strings.Contains(string(out), "testnet02") {
				return errorf("%s %v", out, err)
			}
			return nil
		})
	}
	dockerOn(t, d1, "run", "-d", "--name", "server", "--net", "testnet02", "busybox:local", "sleep", "3600")
	dockerOn(t, d2, "run", "-d", "--name", "client", "--net", "testnet02", "busybox:local", "sleep", "3600")
	ip := containerIP(t, d1, "server", "testnet02")
	cluster.Poll(t, 10*time.Second, "client reaches server", func() error {
		_, err := tryDocker(d2, "exec", "client", "ping", "-c", "1", "-W", "1", ip)
		return err
	})

	// Agent restarts (graceful, then SIGKILL) under a 100/s ping.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	result := make(chan string, 1)
	go func() {
		out, _ := d2.CLI(ctx, "exec", "client", "ping", "-q", "-i", "0.01", "-c", "700", "-W", "1", ip)
		result <- string(out)
	}()
	time.Sleep(time.Second)
	if err := c.Agents["h1"].Stop(); err != nil {
		t.Fatal(err)
	}
	// While h1's agent is down, a network is created: it must reach h1's
	// engine once the agent is back.
	c.CreateNetwork("while-agent-down")
	c.Agents["h1"].Restart()
	time.Sleep(time.Second)
	c.Agents["h2"].Kill()
	c.Agents["h2"].Restart()
	out := <-result
	if !strings.Contains(out, "700 packets transmitted, 700 packets received") {
		t.Fatalf("packets lost while agents restarted:\n%s", out)
	}
	cluster.Poll(t, 20*time.Second, "h1's engine learns the network created while its agent was down", func() error {
		out, err := tryDocker(d1, "network", "ls", "--format", "{{.Name}}")
		if err != nil || !strings.Contains(out, "while-agent-down") {
			return errorf("h1 lists %q %v", out, err)
		}
		return nil
	})

	// dockerd restarts (live restore): containers keep their addresses and
	// connectivity; a network removed meanwhile leaves the engine.
	c.MustCtl("network", "rm", "while-agent-down")
	d1.Restart()
	if got := containerIP(t, d1, "server", "testnet02"); got != ip {
		t.Fatalf("server's address changed across the engine restart: %s → %s", ip, got)
	}
	cluster.Poll(t, 10*time.Second, "client still reaches server", func() error {
		_, err := tryDocker(d2, "exec", "client", "ping", "-c", "1", "-W", "1", ip)
		return err
	})
	cluster.Poll(t, 20*time.Second, "the removed network leaves h1's engine", func() error {
		out, err := tryDocker(d1, "network", "ls", "--format", "{{.Name}}")
		if err != nil || strings.Contains(out, "while-agent-down") {
			return errorf("h1 lists %q %v", out, err)
		}
		return nil
	})
	// New containers work on the restarted engine.
	out = dockerOn(t, d1, "run", "--rm", "--net", "testnet02", "busybox:local", "ping", "-c", "2", "-W", "2", containerIP(t, d2, "client", "testnet02"))
	if !strings.Contains(out, "2 packets received") {
		t.Fatalf("a new container on the restarted engine:\n%s", out)
	}
	// The controller's view matches Docker's: the two running containers,
	// named as Docker names them.
	eps := c.MustCtl("endpoint", "ls", "--network", "testnet02")
	if !strings.Contains(eps, " server ") || !strings.Contains(eps, " client ") {
		t.Fatalf("endpoint ls does not name the Docker containers:\n%s", eps)
	}
}
