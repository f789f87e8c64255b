//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// compose runs docker-compose (Debian 12's 1.29) for a project against
// one host's engine.
func compose(d *lab.Docker, dir, project string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"-H", "unix://" + d.Socket, "-p", project,
		"-f", filepath.Join(dir, "docker-compose.yml"), "--project-directory", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Two Compose projects on two hosts share one ovsnet network: the first
// creates it (driver and IPAM driver ovsnet), the second joins it as
// external; services reach each other by service name across the hosts.
func TestComposeAcrossHosts(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 2, Docker: true})
	d1, d2 := c.Dockers["h1"], c.Dockers["h2"]
	dir1, dir2 := filepath.Join(c.Lab.Dir, "shop"), filepath.Join(c.Lab.Dir, "front")
	for dir, yml := range map[string]string{
		dir1: `version: "3.7"
services:
  db:
    image: busybox:local
    command: httpd -f -p 80 -h /etc
  cache:
    image: busybox:local
    command: sleep 600
networks:
  default:
    name: shopnet
    driver: ovsnet
    ipam:
      driver: ovsnet
`,
		dir2: `version: "3.7"
services:
  web:
    image: busybox:local
    command: sleep 600
networks:
  default:
    name: shopnet
    external: true
`,
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := compose(d1, dir1, "shop", "up", "-d"); err != nil {
		t.Fatalf("compose up on h1: %v\n%s", err, out)
	}
	// The network reaches h2's engine through the cluster's catalog.
	cluster.Poll(t, 20*time.Second, "shopnet in h2's engine", func() error {
		out, err := tryDocker(d2, "network", "ls", "--format", "{{.Name}} {{.Driver}}")
		if err != nil || !strings.Contains(out, "shopnet ovsnet") {
			return errorf("%s %v", out, err)
		}
		return nil
	})
	if out, err := compose(d2, dir2, "front", "up", "-d"); err != nil {
		t.Fatalf("compose up on h2: %v\n%s", err, out)
	}
	// By service name, both ways, ICMP and TCP.
	for _, tc := range []struct {
		d       *lab.Docker
		dir     string
		project string
		service string
		cmd     []string
	}{
		{d2, dir2, "front", "web", []string{"ping", "-c", "2", "-W", "2", "db"}},
		{d2, dir2, "front", "web", []string{"ping", "-c", "2", "-W", "2", "cache"}},
		{d2, dir2, "front", "web", []string{"timeout", "10", "wget", "-q", "-O-", "http://db/hostname"}},
		{d1, dir1, "shop", "db", []string{"ping", "-c", "2", "-W", "2", "web"}},
	} {
		var out string
		var err error
		cluster.Poll(t, 15*time.Second, tc.service+": "+strings.Join(tc.cmd, " "), func() error {
			out, err = compose(tc.d, tc.dir, tc.project, append([]string{"exec", "-T", tc.service}, tc.cmd...)...)
			if err != nil {
				return errorf("%v: %s", err, out)
			}
			return nil
		})
	}
	// ovsnet sees the three services on one network, on their hosts.
	ls := c.MustCtl("endpoint", "ls", "--network", "shopnet")
	for _, want := range []string{"shop_db_1", "shop_cache_1", "front_web_1"} {
		if !strings.Contains(ls, want) {
			t.Fatalf("ovsnetctl endpoint ls --network shopnet lacks %s:\n%s", want, ls)
		}
	}
	// Down in order: the external project leaves the network alone; the
	// owner removes it from the cluster.
	if out, err := compose(d2, dir2, "front", "down"); err != nil {
		t.Fatalf("compose down on h2: %v\n%s", err, out)
	}
	if out, err := c.Ctl("network", "inspect", "shopnet"); err != nil {
		t.Fatalf("shopnet gone after the external project's down: %v\n%s", err, out)
	}
	if out, err := compose(d1, dir1, "shop", "down"); err != nil {
		t.Fatalf("compose down on h1: %v\n%s", err, out)
	}
	cluster.Poll(t, 20*time.Second, "shopnet removed from the cluster", func() error {
		if out, err := c.Ctl("network", "inspect", "shopnet"); err == nil {
			return errorf("still there: %s", out)
		}
		return nil
	})
}
