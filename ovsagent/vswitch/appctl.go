package vswitch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// VswitchdControl is ovs-vswitchd's control socket in rundir:
// <rundir>/ovs-vswitchd.<pid>.ctl, the pid read from its pidfile (it
// changes when OVS restarts, so it is read for every trace).
func VswitchdControl(rundir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(rundir, "ovs-vswitchd.pid"))
	if err != nil {
		return "", fmt.Errorf("ovs-vswitchd is not running in %s: %w", rundir, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("bad ovs-vswitchd pidfile in %s: %w", rundir, err)
	}
	return filepath.Join(rundir, fmt.Sprintf("ovs-vswitchd.%d.ctl", pid)), nil
}

// Appctl runs ovs-appctl with args.
func Appctl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ovs-appctl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ovs-appctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
