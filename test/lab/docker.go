package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Docker is a real Docker engine (dockerd) running inside a lab host.
//
// Each engine gets its own data and exec roots, API socket and — through a
// mount namespace of its own — its own /run/docker/plugins, bound to
// PluginDir: legacy plugins are found by a fixed path, and every host's
// engine must find its own host's agent there. The mount namespace is
// persistent (bind-mounted to a file), so the container namespaces the
// engine mounts under its exec root survive an engine restart, as live
// restore needs. It runs with
// --iptables=false --bridge=none (the host's egress and published ports
// belong to ovsnet's own nftables rules, and Docker's FORWARD drop policy
// would break them) and --live-restore (containers survive an engine
// restart, as the Docker plugin tests need).
type Docker struct {
	Host      *Host
	Dir       string
	Socket    string // path of the engine's API socket
	PluginDir string // the engine's /run/docker/plugins

	proc *Process
}

// DockerPaths says where the engine StartDocker starts will have its API
// socket and plugin directory, so an agent can be pointed there first.
func (h *Host) DockerPaths() (socket, pluginDir string) {
	d := h.dockerPaths()
	return d.Socket, d.PluginDir
}

func (h *Host) dockerPaths() *Docker {
	d := &Docker{Host: h, Dir: filepath.Join(h.lab.Dir, h.Name+"-docker")}
	d.Socket = filepath.Join(d.Dir, "docker.sock")
	d.PluginDir = filepath.Join(d.Dir, "plugins")
	return d
}

// busyboxCommands are linked into the image that lab containers run.
var busyboxCommands = []string{"sh", "ping", "ping6", "ip", "nslookup", "wget", "sleep", "cat", "ifconfig", "route",
	"nc", "hostname", "httpd", "echo", "ls", "true", "arp", "traceroute", "netstat", "seq", "timeout"}

// StartDocker starts an engine on h and imports the busybox:local image
// into it. Start the host's agent first: the engine looks for the ovsnet
// plugin in PluginDir when a network of its driver is first used.
func (h *Host) StartDocker() *Docker {
	l := h.lab
	l.t.Helper()
	d := h.dockerPaths()
	for _, dir := range []string{d.PluginDir, "/run/docker/plugins", d.mountDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			l.t.Fatalf("lab: %v", err)
		}
	}
	l.mu.Lock()
	l.dockers = append(l.dockers, d)
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A persistent mount namespace: its file must live on a private mount.
	for _, args := range [][]string{
		{"mount", "--bind", d.mountDir(), d.mountDir()},
		{"mount", "--make-private", d.mountDir()},
		{"touch", d.mountNS()},
		{"unshare", "--mount=" + d.mountNS(), "--propagation", "private", "mount", "--bind", d.PluginDir, "/run/docker/plugins"},
	} {
		if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
			l.t.Fatalf("lab: docker mount namespace: %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	d.proc = l.Start("dockerd-"+h.Name, h.Netns, nil, "nsenter", "--mount="+d.mountNS(), "--", "dockerd",
		"--data-root", filepath.Join(d.Dir, "data"), "--exec-root", filepath.Join(d.Dir, "exec"), "-H", "unix://"+d.Socket,
		"--pidfile", filepath.Join(d.Dir, "docker.pid"), "--storage-driver", "vfs", "--iptables=false", "--ip-masq=false",
		"--bridge=none", "--live-restore", "--userland-proxy=false")
	d.waitReady()
	d.importBusybox()
	return d
}

func (d *Docker) waitReady() {
	t := d.Host.lab.t
	t.Helper()
	if err := poll(60*time.Second, 100*time.Millisecond, func() error {
		if !d.proc.Running() {
			return fmt.Errorf("dockerd exited:\n%s", tail(d.proc.Log(), 20))
		}
		_, err := d.CLI(context.Background(), "version", "--format", "{{.Server.Version}}")
		return err
	}); err != nil {
		t.Fatalf("lab: docker on %s not ready: %v", d.Host.Name, err)
	}
}

// importBusybox builds (once per lab) a tiny image from the host's static
// busybox and imports it as busybox:local; no registry is reachable.
func (d *Docker) importBusybox() {
	t := d.Host.lab.t
	t.Helper()
	tarPath := d.Host.lab.busyboxTar()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "-H", "unix://"+d.Socket, "import", tarPath, "busybox:local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab: import busybox on %s: %v: %s", d.Host.Name, err, out)
	}
}

// busyboxTar builds (once per lab) the tar of the busybox:local image
// (Docker's and Podman's) and returns its path.
func (l *Lab) busyboxTar() string {
	t := l.t
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	tarPath := filepath.Join(l.Dir, "busybox.tar")
	if _, err := os.Stat(tarPath); err != nil {
		root := filepath.Join(l.Dir, "busybox-root")
		bin := filepath.Join(root, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatalf("lab: %v", err)
		}
		src, err := exec.LookPath("busybox")
		if err != nil {
			t.Fatalf("lab: busybox not installed (apt-get install busybox-static): %v", err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("lab: %v", err)
		}
		if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
			t.Fatalf("lab: %v", err)
		}
		for _, c := range busyboxCommands {
			if err := os.Symlink("busybox", filepath.Join(bin, c)); err != nil && !os.IsExist(err) {
				t.Fatalf("lab: %v", err)
			}
		}
		for _, dir := range []string{"etc", "tmp", "proc", "sys", "dev", "var/www"} {
			_ = os.MkdirAll(filepath.Join(root, dir), 0o755)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "tar", "-C", root, "-cf", tarPath, ".").CombinedOutput(); err != nil {
			t.Fatalf("lab: tar busybox: %v: %s", err, out)
		}
	}
	return tarPath
}

// CLI runs the docker command against this engine.
func (d *Docker) CLI(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", "unix://" + d.Socket}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("docker %s on %s: %w: %s", strings.Join(args, " "), d.Host.Name, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Restart stops the engine (containers keep running: live restore) and
// starts it again with the same data.
func (d *Docker) Restart() {
	t := d.Host.lab.t
	t.Helper()
	if err := d.proc.Stop(); err != nil {
		t.Fatalf("lab: stop dockerd on %s: %v", d.Host.Name, err)
	}
	d.proc.Restart()
	d.waitReady()
}

func (d *Docker) mountDir() string { return filepath.Join(d.Dir, "mnt") }
func (d *Docker) mountNS() string  { return filepath.Join(d.mountDir(), "ns") }

// unmount releases the engine's mount namespace, after the engine stopped.
func (d *Docker) unmount() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = exec.CommandContext(ctx, "umount", d.mountNS()).Run()
	_ = exec.CommandContext(ctx, "umount", d.mountDir()).Run()
}

// teardown removes the engine's containers (their processes live outside
// the lab's namespaces) before the engine itself is stopped.
func (d *Docker) teardown() {
	if !d.proc.Running() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := d.CLI(ctx, "ps", "-aq")
	if err != nil {
		return
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_, _ = d.CLI(ctx, append([]string{"rm", "-f"}, ids...)...)
	}
}
