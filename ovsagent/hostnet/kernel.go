package hostnet

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"text/template"
	"time"
)

// KernelRules is what the host kernel must do for ovsnet.
type KernelRules struct {
	// EgressPort is the overlay egress internal port; EgressSource the
	// address OVS SNATs overlay traffic to before it reaches the kernel.
	EgressPort   string
	EgressSource netip.Addr
	// Gateways are the bridge networks' gateway ports on this host.
	Gateways []GatewayRule
	// Published are the host ports forwarded to containers.
	Published []PublishRule
}

// PublishRule forwards a port of the host's addresses to To.
type PublishRule struct {
	Proto    string // "tcp" or "udp"
	HostPort uint16
	To       netip.AddrPort
}

// GatewayRule is one bridge network's gateway port.
type GatewayRule struct {
	Port   string
	Subnet netip.Prefix
}

// Nftables applies the rules as one nftables table, ip ovsnet, through
// `nft -f -`: a single atomic transaction that `nft list table ip ovsnet`
// shows back to the operator.
type Nftables struct {
	last string
}

// NewKernel returns the nftables-based Kernel.
func NewKernel() *Nftables { return &Nftables{} }

var nftTemplate = template.Must(template.New("nft").Parse(`table ip ovsnet
delete table ip ovsnet
table ip ovsnet {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr {{.EgressSource}} oifname != "{{.EgressPort}}" masquerade
{{- range .Gateways}}
		ip saddr {{.Subnet}} oifname != "{{.Port}}" masquerade
{{- end}}
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
{{- range .Published}}
		fib daddr type local {{.Proto}} dport {{.HostPort}} dnat to {{.To}}
{{- end}}
	}
	chain output {
		type nat hook output priority -100; policy accept;
{{- range .Published}}
		ip daddr != 127.0.0.0/8 fib daddr type local {{.Proto}} dport {{.HostPort}} dnat to {{.To}}
{{- end}}
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		# Networks meet in this kernel only to leave: never to each other.
		iifname { "ovsgw*", "{{.EgressPort}}" } oifname { "ovsgw*", "{{.EgressPort}}" } drop
		# From outside, only replies and published ports get in.
		oifname { "ovsgw*", "{{.EgressPort}}" } ct state established,related accept
		oifname { "ovsgw*", "{{.EgressPort}}" } ct status dnat accept
		oifname { "ovsgw*", "{{.EgressPort}}" } drop
	}
}
`))

func (k *Nftables) Apply(ctx context.Context, r KernelRules) error {
	sort.Slice(r.Gateways, func(i, j int) bool { return r.Gateways[i].Port < r.Gateways[j].Port })
	sort.Slice(r.Published, func(i, j int) bool {
		if r.Published[i].Proto != r.Published[j].Proto {
			return r.Published[i].Proto < r.Published[j].Proto
		}
		return r.Published[i].HostPort < r.Published[j].HostPort
	})
	var buf bytes.Buffer
	if err := nftTemplate.Execute(&buf, r); err != nil {
		return fmt.Errorf("render nftables rules: %w", err)
	}
	text := buf.String()
	if text == k.last {
		return nil
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %w: %s", err, bytes.TrimSpace(out))
	}
	k.last = text
	return nil
}
