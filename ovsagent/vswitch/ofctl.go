package vswitch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/flows"
)

// Ofctl programs flows with go-openvswitch (bundles through
// ovs-ofctl) and reads them back with `ovs-ofctl dump-flows`.
//
// Reading back does not use go-openvswitch's parser: it knows only a subset
// of actions (no goto_table, IN_PORT, nd fields) and fails on the rest, and
// the diff only needs each flow's key and action text, which OVS prints in a
// canonical form.
type Ofctl struct {
	target string
}

// NewFlowTable returns the flow table of a bridge. target is what ovs-ofctl
// is given: a bridge name, or unix:<rundir>/<bridge>.mgmt when the OVS run
// directory is not the default.
func NewFlowTable(target string) *Ofctl {
	return &Ofctl{target: target}
}

func (t *Ofctl) Target() string { return t.target }

func (t *Ofctl) Dump(ctx context.Context) ([]flows.InstalledFlow, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	owned := fmt.Sprintf("cookie=%#x/%#x", uint64(flows.OwnerCookie), uint64(flows.OwnerMask))
	cmd := exec.CommandContext(ctx, "ovs-ofctl", "-O", "OpenFlow14", "--no-stats", "--no-names", "dump-flows", t.target, owned)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ovs-ofctl dump-flows %s: %w: %s", t.target, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res []flows.InstalledFlow
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		in, err := flows.ParseDumpLine(sc.Text())
		if errors.Is(err, flows.ErrNotAFlow) {
			continue
		}
		if err != nil {
			return nil, err
		}
		res = append(res, in)
	}
	return res, sc.Err()
}

func (t *Ofctl) Apply(ctx context.Context, d flows.Diff) error {
	if d.Empty() {
		return nil
	}
	var b bytes.Buffer
	for _, p := range d.Purge {
		fmt.Fprintf(&b, "delete table=%d,cookie=%s/-1\n", p.Table.ID, p.Cookie)
	}
	for _, f := range d.Delete {
		fmt.Fprintf(&b, "delete_strict %s\n", f)
	}
	for _, f := range d.Add {
		fmt.Fprintf(&b, "add %s actions=%s\n", strings.TrimSuffix(f.String(), " actions="+f.ActionsText()), f.ActionsText())
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ovs-ofctl", "-O", "OpenFlow14", "--no-names", "--bundle", "add-flows", t.target, "-")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("flow bundle on %s (%d purges, %d deletes, %d adds): %w: %s", t.target, len(d.Purge), len(d.Delete), len(d.Add), err, bytes.TrimSpace(out))
	}
	return nil
}
