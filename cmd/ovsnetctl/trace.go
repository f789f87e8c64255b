package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// newTraceCommand is `trace SRC DST`: why can (or can't) SRC reach DST?
// The hosts' agents run OVS's ofproto/trace; this prints the packet's way
// table by table and the verdict, as the web UI's trace page shows it.
func (a *app) newTraceCommand() *cobra.Command {
	var (
		req     model.TraceRequest
		asJSON  bool
		showRaw bool
	)
	cmd := &cobra.Command{
		Use:   "trace [OPTIONS] SOURCE DESTINATION",
		Short: "Trace a packet from one endpoint to another through the hosts' OpenFlow tables",
		Long: "Trace a packet from one endpoint to another through the hosts' OpenFlow tables.\n\n" +
			"SOURCE and DESTINATION are endpoints: CONTAINER@NETWORK, an endpoint ID, or a\n" +
			"container connected to one network only. The source's host traces the packet\n" +
			"from the source's port; when it enters the tunnel, the destination's host\n" +
			"traces it on. The verdict says whether it is delivered, or which table\n" +
			"dropped it and why.",
		Example: `  ovsnetctl trace web@testnet02 mysql01@testnet02
  ovsnetctl trace --proto tcp --port 3306 web@testnet02 mysql01@testnet02
  ovsnetctl trace --raw --json app local1`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			req.Source, req.Destination = args[0], args[1]
			tr, err := c.Trace(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(tr)
			}
			return writeTrace(a.stdout, tr, showRaw)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&req.Protocol, "proto", "icmp", "Protocol of the packet: icmp, tcp or udp")
	flags.Uint16Var(&req.Port, "port", 80, "Destination port (tcp, udp)")
	flags.BoolVarP(&req.IPv6, "ipv6", "6", false, "Trace between the endpoints' IPv6 addresses")
	flags.BoolVar(&asJSON, "json", false, "Print the trace as JSON")
	flags.BoolVar(&showRaw, "raw", false, "Also print ofproto/trace's own output for each host")
	return cmd
}

// writeTrace prints a trace for people.
func writeTrace(out io.Writer, tr *model.Trace, raw bool) error {
	fmt.Fprintf(out, "Tracing %s\n", tr.Packet)
	fmt.Fprintf(out, "  from %s\n  to   %s\n", tr.Source.Description, tr.Destination.Description)
	for _, hop := range tr.Hops {
		fmt.Fprintf(out, "\n%s: in through %s\n", hop.Host, hop.Ingress)
		t := newTable(out, "  TABLE", "PRIORITY", "MATCH", "ACTIONS")
		for _, s := range hop.Result.Steps {
			prio, match := fmt.Sprint(s.Priority), s.Match
			switch {
			case s.NoMatch:
				prio, match = "-", "(no flow matched)"
			case match == "":
				match = "*"
			}
			t.row("  "+stepLabel(s), prio, match, strings.Join(s.Actions, ", "))
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(out, "  datapath: %s\n  → %s\n", hop.Result.DatapathActions, hop.Outcome)
		if raw {
			fmt.Fprintf(out, "\n  ofproto/trace %s:\n", hop.Result.Flow)
			for _, line := range strings.Split(strings.TrimRight(hop.Result.Output, "\n"), "\n") {
				fmt.Fprintf(out, "    %s\n", line)
			}
		}
	}
	_, err := fmt.Fprintf(out, "\nVerdict: %s: %s\n", strings.ToUpper(tr.Verdict.Kind), tr.Verdict.Summary)
	return err
}

// stepLabel is "40 Forward" for ovsnet's tables, "br-phy 0" elsewhere.
func stepLabel(s model.TraceStep) string {
	if s.TableName != "" {
		return fmt.Sprintf("%2d %s", s.Table, s.TableName)
	}
	return fmt.Sprintf("%s %d", s.Bridge, s.Table)
}
