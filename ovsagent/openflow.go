package ovsagent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/ovsnet/ovsnet/flows"
)

// FlowTable is the agent's view of the bridge's OpenFlow table.
type FlowTable interface {
	// Dump returns the ovsnet-owned flows installed on the bridge.
	Dump(ctx context.Context) ([]flows.InstalledFlow, error)
	// Apply makes one atomic change (an OpenFlow 1.4 bundle): every packet
	// sees the table either before or after it, never in between.
	Apply(ctx context.Context, d flows.Diff) error
	// Target is the ovs-ofctl target of the bridge.
	Target() string
}

// ofctlTable programs flows with go-openvswitch (bundles through
// ovs-ofctl) and reads them back with `ovs-ofctl dump-flows`.
//
// Reading back does not use go-openvswitch's parser: it knows only a subset
// of actions (no goto_table, IN_PORT, nd fields) and fails on the rest, and
// the diff only needs each flow's key and action text, which OVS prints in a
// canonical form.
type ofctlTable struct {
	client *ovs.Client
	target string
}

// NewFlowTable returns the flow table of a bridge. target is what ovs-ofctl
// is given: a bridge name, or unix:<rundir>/<bridge>.mgmt when the OVS run
// directory is not the default.
func NewFlowTable(target string) FlowTable {
	return &ofctlTable{
		client: ovs.New(ovs.Timeout(10), ovs.Protocols([]string{ovs.ProtocolOpenFlow13, ovs.ProtocolOpenFlow14}),
			ovs.Pipe(pipeNoNames)),
		target: target,
	}
}

// pipeNoNames runs go-openvswitch's piped ovs-ofctl commands with
// --no-names. Our flows use table and port numbers; without the flag
// ovs-ofctl first fetches every table's features (~170 KB) to resolve
// names, which triples the cost of a bundle.
func pipeNoNames(stdin io.Reader, cmd string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd, append([]string{"--no-names"}, args...)...)
	c.Stdin = stdin
	out, err := c.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", cmd, err, bytes.TrimSpace(out))
	}
	return out, nil
}

func (t *ofctlTable) Target() string { return t.target }

func (t *ofctlTable) Dump(ctx context.Context) ([]flows.InstalledFlow, error) {
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

func (t *ofctlTable) Apply(ctx context.Context, d flows.Diff) error {
	if d.Empty() {
		return nil
	}
	err := t.client.OpenFlow.AddFlowBundle(t.target, func(tx *ovs.FlowTransaction) error {
		for _, f := range d.Delete {
			tx.Delete(f.DeleteMatch())
		}
		for _, f := range d.Add {
			tx.Add(f.OVS())
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("flow bundle on %s (%d deletes, %d adds): %w", t.target, len(d.Delete), len(d.Add), err)
	}
	return nil
}
