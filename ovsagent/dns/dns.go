// Package dns is the agent's resolver: an agent extension that answers
// containers' DNS queries, steered to it in OVS, from the host's compiled
// state (docs/dns.md). In its files, dns.X is github.com/miekg/dns, which
// it imports under that name for DNS's constants and message type.
package dns

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
)

// Agent is what the resolver needs of the agent: its desired state, when
// the resolver was not registered for it through OnState in time.
type Agent interface {
	// State is the current desired state, nil before any is known.
	State() *model.HostState
}

// Config configures the resolver.
type Config struct {
	// Port is the OVS internal port DNS queries are steered to (the agent's
	// Pipeline.DNS must name the same).
	Port flows.DNSConfig
	// Upstreams get the queries for names that are not ovsnet's, from
	// non-internal networks; none: such queries are refused.
	Upstreams []netip.AddrPort
	// Listen are UDP addresses in the host's namespace where the resolver
	// also answers, with the host as the asker (benchmarks, the host's own
	// lookups of NAME.NETWORK).
	Listen []netip.AddrPort
	// ListenForward lets the Listen addresses forward other names to the
	// Upstreams too. Off, they answer only ovsnet's names (REFUSED for the
	// rest): a listener others can reach is no open resolver to abuse as
	// an amplifier.
	ListenForward bool
	// ResolvConf makes the agent write /etc/netns/NAME/resolv.conf for
	// containers that are network namespaces under /run/netns (what
	// `ip netns exec NAME` uses), pointing at the resolver.
	ResolvConf bool
	// ResolvConfDir is where those files go ("" for /etc/netns).
	ResolvConfDir string
	// Host names this host in the files' marker; StateDir keeps the list of
	// files the agent wrote, so only those are ever removed.
	Host, StateDir string
	// UpstreamTimeout bounds each upstream's answer (default 2 s).
	UpstreamTimeout time.Duration
	// Readers is how many goroutines read each socket (default 2).
	Readers int
}

// Resolver is the agent's resolver: the extension that answers containers'
// DNS queries from the compiled state (docs/dns.md).
type Resolver struct {
	a     Agent
	cfg   Config
	log   *slog.Logger
	index atomic.Pointer[dnsIndex]
	ixr   *indexer // builds each new index, reusing unchanged networks
	fwd   *dnsForwarder
	rc    *resolvConfs
	held  *holdQueue

	// stats, for logs and tests
	queries, forwarded, dropped, released atomic.Uint64
}

// New returns the resolver extension for agent a (nil: the resolver learns
// the state only through OnState). Add it to the agent with AddExtension,
// which registers OnState.
func New(cfg Config, a Agent, log *slog.Logger) *Resolver {
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = 2 * time.Second
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 2
	}
	if cfg.ResolvConfDir == "" {
		cfg.ResolvConfDir = "/etc/netns"
	}
	if log == nil {
		log = slog.Default()
	}
	d := &Resolver{a: a, cfg: cfg, log: log.With("part", "dns"), held: newHoldQueue(), ixr: newIndexer()}
	if len(cfg.Upstreams) > 0 {
		d.fwd = newDNSForwarder(cfg.Upstreams, cfg.UpstreamTimeout, 1024)
	}
	if cfg.ResolvConf {
		d.rc = newResolvConfs(cfg.ResolvConfDir, cfg.StateDir, cfg.Host, d.log)
	}
	return d
}

// Name implements ovsagent.Extension.
func (d *Resolver) Name() string { return "dns" }

// OnState indexes a new desired state and swaps it in; it also writes the
// resolv.conf files of new netns containers before they are plumbed. The
// agent calls it (AddExtension registers it) with the cached state at start
// and then with every new one, one call at a time.
func (d *Resolver) OnState(st *model.HostState) {
	start := time.Now()
	ix := d.ixr.build(st, d.fwd != nil, d.held.namelessUntil(st, start))
	ix.host.forward = ix.host.forward && d.cfg.ListenForward
	d.index.Store(ix)
	d.held.wake()
	d.log.Debug("dns index", "generation", st.Generation, "askers", len(ix.views), "took", time.Since(start).Round(time.Microsecond))
	if d.rc != nil {
		d.rc.sync(st)
	}
}

// Run implements ovsagent.Extension: it serves the DNS port (and the
// listeners) until ctx ends.
func (d *Resolver) Run(ctx context.Context) error {
	if d.index.Load() == nil && d.a != nil {
		if st := d.a.State(); st != nil {
			d.OnState(st) // not registered through AddExtension
		}
	}
	var ls []*dnsListener
	for _, addr := range d.cfg.Listen {
		l, err := d.listenUDP(ctx, addr)
		if err != nil {
			for _, l := range ls {
				l.close()
			}
			return err // a flag's address: fail at start, loudly
		}
		d.log.Info("dns listening", "addr", addr)
		ls = append(ls, l)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.serveHeld(ctx) }()
	for _, l := range ls {
		wg.Add(1)
		go func() { defer wg.Done(); l.serve(ctx) }()
	}
	d.servePort(ctx)
	wg.Wait()
	return nil
}

// resolve answers one message from view v into out. A name not found
// while names are still on their way (hold.go) is dnsHold.
func (d *Resolver) resolve(ix *dnsIndex, v *dnsView, msg, out []byte) ([]byte, dnsAction, int) {
	d.queries.Add(1)
	reply, act, maxSize := ix.answer(v, msg, out)
	if act == dnsReply && isNXDomain(reply) && v.awaitingNames(time.Now()) {
		return reply, dnsHold, maxSize
	}
	return reply, act, maxSize
}
