package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Podman is Podman 4 with its CNI network backend on a lab host. Podman
// has no daemon: every command runs inside the host's network namespace
// (nsenter --net, which keeps the real /sys and cgroups) with storage,
// run and temporary directories, locks and network configurations of its
// own under the lab's directory, so hosts do not see each other's
// containers. The network namespaces it makes for containers are bound
// under /run/netns, like everyone's, where the host's agent finds them.
type Podman struct {
	Host *Host
	Dir  string
	// ConfDir holds the host's CNI network configurations (.conflist):
	// Podman's --network-config-dir.
	ConfDir string
	// PluginDir is where Podman looks for CNI plugins first (then
	// /usr/lib/cni, Debian's plugins).
	PluginDir string

	conf string // containers.conf
}

// StartPodman prepares Podman on h and imports the busybox:local image.
func (h *Host) StartPodman() *Podman {
	l := h.lab
	l.t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		l.t.Fatalf("lab: podman not installed (apt-get install podman containernetworking-plugins; deploy/install-deps.sh does): %v", err)
	}
	p := &Podman{Host: h, Dir: filepath.Join(l.Dir, h.Name+"-podman")}
	p.ConfDir = filepath.Join(p.Dir, "net.d")
	p.PluginDir = filepath.Join(p.Dir, "cni-bin")
	p.conf = filepath.Join(p.Dir, "containers.conf")
	for _, d := range []string{p.ConfDir, p.PluginDir, filepath.Join(p.Dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			l.t.Fatalf("lab: %v", err)
		}
	}
	// Podman's default rlimits are refused in these namespaces (setrlimit:
	// operation not permitted); file locks instead of the machine-wide
	// shared-memory segment, so engines never share lock numbers.
	conf := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[network]
network_backend = "cni"
cni_plugin_dirs = [%q, "/usr/lib/cni"]
network_config_dir = %q
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
lock_type = "file"
`, p.PluginDir, p.ConfDir, filepath.Join(p.Dir, "events.log"), filepath.Join(p.Dir, "tmp"))
	storage := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n", filepath.Join(p.Dir, "root"), filepath.Join(p.Dir, "run"))
	for file, text := range map[string]string{p.conf: conf, filepath.Join(p.Dir, "storage.conf"): storage} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			l.t.Fatalf("lab: %v", err)
		}
	}
	l.mu.Lock()
	l.podmans = append(l.podmans, p)
	l.mu.Unlock()
	tarPath := l.busyboxTar()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if out, err := p.CLI(ctx, "import", tarPath, "busybox:local"); err != nil {
		l.t.Fatalf("lab: podman import on %s: %v: %s", h.Name, err, out)
	}
	return p
}

// Command is a podman command on this host, ready to run.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	base := []string{"--net=" + netnsPath(p.Host.Netns), "--", "podman",
		"--root", filepath.Join(p.Dir, "root"), "--runroot", filepath.Join(p.Dir, "run"),
		"--storage-driver", "vfs", "--network-backend", "cni", "--network-config-dir", p.ConfDir,
		"--cgroup-manager", "cgroupfs", "--events-backend", "file", "--tmpdir", filepath.Join(p.Dir, "tmp")}
	cmd := exec.CommandContext(ctx, "nsenter", append(base, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf, "CONTAINERS_STORAGE_CONF="+filepath.Join(p.Dir, "storage.conf"))
	cmd.WaitDelay = 5 * time.Second // conmon may hold the pipes of a detached container
	return cmd
}

// CLI runs podman with args on this host and returns its combined output,
// bounded by two minutes.
func (p *Podman) CLI(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	out, err := p.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("podman %s on %s: %w: %s", strings.Join(args, " "), p.Host.Name, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// teardown removes the host's containers (their network namespaces and
// CNI attachments with them) and whatever Podman left mounted under its
// directory.
func (p *Podman) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := p.CLI(ctx, "rm", "--all", "--force", "--time", "0"); err != nil {
		p.Host.lab.t.Logf("lab: podman rm on %s: %v: %s", p.Host.Name, err, out)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], p.Dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = exec.CommandContext(ctx, "umount", "-l", mounts[i]).Run()
	}
}
