package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// etcNetns is where `ip netns exec NAME` finds per-namespace files
// (/etc/netns/NAME/resolv.conf, which the agent's DNS writes for the lab's
// containers). `ip netns del` leaves them, so the lab removes its own.
const etcNetns = "/etc/netns"

// removeEtcNetns removes /etc/netns/<prefix>-* .
func removeEtcNetns(prefix string) error {
	dirs, err := filepath.Glob(filepath.Join(etcNetns, prefix+"-*"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove %s: %w", d, err)
		}
	}
	return nil
}

// etcNetnsLeftovers lists /etc/netns/<prefix>-* that still exist.
func etcNetnsLeftovers(prefix string) []string {
	dirs, _ := filepath.Glob(filepath.Join(etcNetns, prefix+"-*"))
	var left []string
	for _, d := range dirs {
		left = append(left, "dir "+d)
	}
	return left
}
