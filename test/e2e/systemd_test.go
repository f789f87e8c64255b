//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/internal/pki"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/docblocks"
	"github.com/ovsnet/ovsnet/test/lab"
	"github.com/ovsnet/ovsnet/test/unitfile"
)

// The shipped systemd units, run as systemd would run them: the command
// line is ExecStart of deploy/systemd/<daemon>.service, expanded with the
// unit's Environment= defaults and the values of the shipped settings file
// deploy/systemd/<daemon>.env (test/unitfile reads both as systemd does),
// and the process gets that environment. The lab changes only what cannot
// be the same on one machine running several simulated hosts:
//
//	controller  OVSNET_LISTEN             127.0.0.1:PORT,unix:<lab>/controller.sock (the file's 10.10.0.5 and /run/ovsnet-controller do not exist here)
//	            OVSNET_TOKEN_FILE         <lab>/token
//	            OVSNET_TLS_CERT, _KEY     a certificate of a lab CA for 127.0.0.1
//	            OVSNET_CONSUL             the lab's Consul
//	            %H (-id)                  controller1
//	agent       OVSNET_TUNNEL_IP          the lab host's underlay address
//	            OVSNET_CONTROLLER         https://127.0.0.1:PORT (the controller, exposed in the host's namespace)
//	            OVSNET_TOKEN_FILE         <lab>/token
//	            OVSNET_CONTROLLER_CACERT  the lab CA
//	            OVSNET_PLUGIN_SOCKET, OVSNET_DOCKER_HOST  the lab engine's plugin directory and socket
//	            OVSNET_CONSUL             the lab Consul's unix socket (agents live in network namespaces)
//	            OVSNET_DATAPATH           netdev (no OVS kernel module in the lab)
//	            OVSNET_OVSDB              the lab host's OVSDB
//	            OVSNET_STATE_DIR          <lab>/agent-state
//	            OVSNET_AGENT_OPTS         + "-ovs-rundir <the host's OVS dir>", and OVS_RUNDIR in the environment
//	            %H (OVSNET_HOST)          the lab host's name
//	both        /usr/local/bin/<daemon>   the binary the lab built
//
// Everything else — OVSNET_DNS_UPSTREAM=system, the metrics address, the
// prefix, the log level, every flag name — is the shipped file's. Then
// Docker engines use the agents' plugin across two hosts, by name.
func TestShippedSystemdUnits(t *testing.T) {
	l := lab.New(t, lab.Options{Hosts: 2})
	bins := lab.Build(t)
	consul := l.StartConsul()
	root := docblocks.Root()

	// What an operator prepares: a token file and the controller's TLS.
	token := randomToken(t)
	tokenFile := filepath.Join(l.Dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, _, err := pki.InitCA(filepath.Join(l.Dir, "tls"), "lab CA")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := ca.Server("controller", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(ca.Dir, pki.CACert)

	// The controller.
	port := freeTCPPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	argv, env := unitCommand(t, root, "ovsnet-controller", "controller1", map[string]string{
		"OVSNET_LISTEN":     addr + ",unix:" + filepath.Join(l.Dir, "controller.sock"),
		"OVSNET_TOKEN_FILE": tokenFile,
		"OVSNET_TLS_CERT":   certFile,
		"OVSNET_TLS_KEY":    keyFile,
		"OVSNET_CONSUL":     consul.Addr,
	})
	ctl := l.Start("controller1", "", env, bins["ovsnet-controller"], argv[1:]...)
	l.Expose(addr)
	tlsCfg, err := pki.ClientConfig(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	api, err := client.New("https://"+addr, client.WithTLSConfig(tlsCfg), client.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	cluster.Poll(t, 30*time.Second, "the controller answers over TLS with the token", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := api.ListHosts(ctx)
		if err != nil && !ctl.Running() {
			t.Fatalf("the controller exited: %v\n%s", err, ctl.Log())
		}
		return err
	})
	noTokenOnCommandLine(t, ctl, token)

	// An agent on each host, then its Docker engine.
	agents := map[string]*lab.Process{}
	for _, h := range l.Hosts {
		sock, plugins := h.DockerPaths()
		argv, env := unitCommand(t, root, "ovsnet-agent", h.Name, map[string]string{
			"OVSNET_TUNNEL_IP":         h.TunnelIP.String(),
			"OVSNET_CONTROLLER":        "https://" + addr,
			"OVSNET_TOKEN_FILE":        tokenFile,
			"OVSNET_CONTROLLER_CACERT": caFile,
			"OVSNET_PLUGIN_SOCKET":     filepath.Join(plugins, "ovsnet.sock"),
			"OVSNET_DOCKER_HOST":       "unix://" + sock,
			"OVSNET_CONSUL":            consul.Socket,
			"OVSNET_DATAPATH":          "netdev",
			"OVSNET_OVSDB":             h.OVSDB(),
			"OVSNET_STATE_DIR":         filepath.Join(l.Dir, "agent-state"),
			"+OVSNET_AGENT_OPTS":       "-ovs-rundir " + h.OVSDir,
		})
		agents[h.Name] = l.Start("agent-"+h.Name, h.Netns, append(env, h.Env()...), bins["ovsnet-agent"], argv[1:]...)
	}
	cluster.Poll(t, 60*time.Second, "both hosts alive", func() error {
		hosts, err := api.ListHosts(context.Background())
		if err != nil {
			return err
		}
		alive := 0
		for _, h := range hosts {
			if h.Alive {
				alive++
			}
		}
		for name, p := range agents {
			if !p.Running() {
				t.Fatalf("agent %s exited:\n%s", name, p.Log())
			}
		}
		if alive != len(l.Hosts) {
			return fmt.Errorf("%d of %d hosts alive: %+v", alive, len(l.Hosts), hosts)
		}
		return nil
	})
	for _, p := range agents {
		noTokenOnCommandLine(t, p, token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The metrics and health listener of the shipped settings, in the
	// host's own namespace. It answers 503 "starting" until the agent's
	// first reconcile, which may come a moment after its host is alive.
	cluster.Poll(t, 20*time.Second, "the agent's /healthz on 127.0.0.1:9474", func() error {
		out, err := l.Hosts[0].Exec(ctx, "curl", "-s", "-w", "\n%{http_code}", "http://127.0.0.1:9474/healthz")
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "200") {
			return fmt.Errorf("%v %s", err, out)
		}
		return nil
	})

	d1, d2 := l.Hosts[0].StartDocker(), l.Hosts[1].StartDocker()
	dockerOn(t, d1, "network", "create", "-d", "ovsnet", "--ipam-driver", "ovsnet", "testnet02")
	cluster.Poll(t, 20*time.Second, "testnet02 in h2's engine", func() error {
		out, err := tryDocker(d2, "network", "ls", "--format", "{{.Name}}")
		if err != nil || !strings.Contains(out, "testnet02") {
			return fmt.Errorf("h2 lists %q %v", out, err)
		}
		return nil
	})
	dockerOn(t, d1, "run", "-d", "--name", "mysql01", "--net", "testnet02", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
	out := dockerOn(t, d2, "run", "--rm", "--net", "testnet02", "busybox:local", "ping", "-c", "3", "-W", "2", "mysql01")
	if !strings.Contains(out, "3 packets received") {
		t.Fatalf("ping mysql01 by name from h2:\n%s", out)
	}
	out = dockerOn(t, d2, "run", "--rm", "--net", "testnet02", "busybox:local", "timeout", "10", "wget", "-q", "-O-", "http://mysql01/hostname")
	if strings.TrimSpace(out) == "" {
		t.Fatal("HTTP to mysql01 from h2 returned nothing")
	}
}

// unitCommand returns the command line and environment of a shipped unit
// with its shipped settings file, the lab's values (see above) replacing
// the file's ("+NAME" appends to it) and host standing for %H.
func unitCommand(t *testing.T, root, daemon, host string, lab map[string]string) (argv, env []string) {
	t.Helper()
	u, err := unitfile.Read(filepath.Join(root, "deploy", "systemd", daemon+".service"))
	if err != nil {
		t.Fatal(err)
	}
	file, err := unitfile.ReadEnvFile(filepath.Join(root, "deploy", "systemd", daemon+".env"))
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]string{"%H": host}
	vars := u.Environment(file, spec)
	for k, v := range lab {
		if name, ok := strings.CutPrefix(k, "+"); ok {
			vars[name] = strings.TrimSpace(vars[name] + " " + v)
			continue
		}
		if _, ok := vars[k]; !ok {
			t.Fatalf("%s: the lab sets %s, which neither the unit nor the settings file has", daemon, k)
		}
		vars[k] = v
	}
	argv, err = u.Command(vars, spec)
	if err != nil {
		t.Fatalf("%s: %v", daemon, err)
	}
	if argv[0] != "/usr/local/bin/"+daemon {
		t.Fatalf("%s: ExecStart runs %s", daemon, argv[0])
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	t.Logf("%s on %s: %q", daemon, host, argv)
	return argv, env
}

// noTokenOnCommandLine checks what every user of the machine can read.
func noTokenOnCommandLine(t *testing.T, p *lab.Process, token string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.Pid()))
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	if strings.Contains(string(b), token) {
		t.Fatalf("%s has the token on its command line", p.Name)
	}
}

func randomToken(t *testing.T) string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func freeTCPPort(t *testing.T) int {
	ports, err := lab.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}
