package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/model"
)

// syncLoop keeps the engine's ovsnet networks equal to the cluster's
// catalog, level-triggered: on every state change, after the plugin's own
// calls, on engine events, and every 10 s.
func (p *Plugin) syncLoop(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	failing := false
	for {
		err := p.sync(ctx)
		if err != nil && ctx.Err() == nil {
			if !failing {
				p.log.Warn("syncing Docker networks failed; retrying", "err", err)
			}
			failing = true
		} else if failing {
			p.log.Info("Docker networks in sync again")
			failing = false
		}
		wait := 10 * time.Second
		if err != nil {
			wait = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-tick.C:
		case <-time.After(wait):
		}
	}
}

// sync makes one pass: register networks users created here, create the
// catalog's networks the engine lacks, remove those the cluster dropped,
// and tell the controller which containers Docker's endpoints belong to.
func (p *Plugin) sync(ctx context.Context) error {
	st := p.a.State()
	if st == nil {
		return nil // nothing known yet: change nothing
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	dnets, err := p.engine.networks(ctx, dockerDriver)
	if err != nil {
		return err
	}
	catalog := map[string]*model.Network{}
	byName := map[string]*model.Network{}
	for i := range st.Catalog {
		catalog[st.Catalog[i].ID] = &st.Catalog[i]
		byName[st.Catalog[i].Name] = &st.Catalog[i]
	}
	var errs []error
	present := map[string]bool{}
	for _, dn := range dnets {
		id := dn.Options[optNetworkID]
		if id == "" {
			if n, ok := byName[dn.Name]; ok {
				id = n.ID
			}
		}
		p.mu.Lock()
		boundBefore, wasBound := p.nets[dn.ID]
		p.mu.Unlock()
		switch {
		case id != "" && catalog[id] != nil:
			present[id] = true
			p.bind(dn, id)
		case dn.Options[optNetworkID] != "" || wasBound:
			// Created here by the agent, or registered from here before, and
			// not in this (possibly older) state: remove it from the engine
			// only once the controller confirms the cluster dropped it — a
			// network registered a moment ago is not published yet.
			if id == "" {
				id = boundBefore
			}
			if _, err := p.api.InspectNetwork(ctx, id); !client.IsNotFound(err) {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if err := p.removeFromEngine(ctx, dn, id); err != nil {
				errs = append(errs, err)
			}
		default:
			// A user created it with `docker network create -d ovsnet`.
			id, err := p.register(ctx, dn)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			present[id] = true
		}
	}
	for i := range st.Catalog {
		n := &st.Catalog[i]
		if present[n.ID] {
			continue
		}
		if err := p.createInEngine(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, p.syncContainers(ctx, st, dnets))
	return errors.Join(errs...)
}

// bind records that an engine network is an ovsnet network, and which
// pending pools it took over.
func (p *Plugin) bind(dn dockerNetwork, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nets[dn.ID] != id {
		p.nets[dn.ID] = id
		p.saveBindings()
	}
	for _, c := range dn.IPAM.Config {
		fam := "v4"
		if pfx, err := netip.ParsePrefix(c.Subnet); err == nil && pfx.Addr().Is6() {
			fam = "v6"
		}
		p.pools[pendingPoolID(fam, c.Subnet, "")] = id
		if c.IPRange != "" {
			p.pools[pendingPoolID(fam, c.Subnet, c.IPRange)] = id
		}
	}
}

// register creates the cluster-wide network for one a user made in this
// engine, under the same name and addresses.
func (p *Plugin) register(ctx context.Context, dn dockerNetwork) (string, error) {
	p.mu.Lock()
	pn, havePending := p.pending[dn.ID]
	p.mu.Unlock()
	req := model.NetworkCreateRequest{Name: dn.Name, Driver: "overlay", Internal: dn.Internal, EnableIPv6: dn.EnableIPv6,
		Labels: dn.Labels, Options: map[string]string{}, IPAM: &model.IPAM{Driver: dockerDriver}}
	for k, v := range dn.Options {
		req.Options[k] = v
	}
	for _, c := range dn.IPAM.Config {
		req.IPAM.Config = append(req.IPAM.Config, model.IPAMConfig{Subnet: c.Subnet, Gateway: c.Gateway, IPRange: c.IPRange})
	}
	if havePending && len(req.IPAM.Config) == 0 {
		// The engine does not list pools it did not get from the user.
		for _, d := range []ipamData{pn.v4, pn.v6} {
			if d.Pool == "" {
				continue
			}
			gw := ""
			if g, err := netip.ParsePrefix(d.Gateway); err == nil {
				gw = g.Addr().String()
			}
			req.IPAM.Config = append(req.IPAM.Config, model.IPAMConfig{Subnet: d.Pool, Gateway: gw})
		}
	}
	res, err := p.api.CreateNetwork(ctx, req)
	if client.IsConflict(err) {
		// Someone registered the name meanwhile (another host, the CLI):
		// the engine's network is that one.
		n, ierr := p.api.InspectNetwork(ctx, dn.Name)
		if ierr != nil {
			return "", ierr
		}
		res.ID, err = n.ID, nil
	}
	if err != nil {
		return "", err
	}
	p.bind(dn, res.ID)
	p.mu.Lock()
	delete(p.pending, dn.ID)
	p.mu.Unlock()
	p.log.Info("registered a network created in Docker", "network", dn.Name, "id", model.ShortID(res.ID))
	return res.ID, nil
}

// createInEngine creates a catalog network in this engine, carrying its
// ovsnet id, so `docker network ls` on every host lists every network.
func (p *Plugin) createInEngine(ctx context.Context, n *model.Network) error {
	ipam := &model.IPAM{Driver: dockerDriver, Options: map[string]string{optNetworkID: n.ID}}
	cfg := model.IPAMConfig{Subnet: n.Subnet.String(), Gateway: n.Gateway.String()}
	if n.IPRange.IsValid() {
		cfg.IPRange = n.IPRange.String()
	}
	ipam.Config = append(ipam.Config, cfg)
	if n.EnableIPv6 {
		ipam.Config = append(ipam.Config, model.IPAMConfig{Subnet: n.Subnet6.String(), Gateway: n.Gateway6.String()})
	}
	opts := map[string]string{optNetworkID: n.ID}
	for k, v := range n.Options {
		if !strings.HasPrefix(k, "ovsnet.") && k != model.OptVNI {
			opts[k] = v
		}
	}
	_, err := p.engine.createNetwork(ctx, model.NetworkCreateRequest{Name: n.Name, CheckDuplicate: true, Driver: dockerDriver,
		EnableIPv6: n.EnableIPv6, Internal: n.Internal, IPAM: ipam, Options: opts, Labels: n.Labels})
	if err != nil {
		return err
	}
	p.log.Info("network created in Docker", "network", n.Name, "id", model.ShortID(n.ID))
	return nil
}

func (p *Plugin) removeFromEngine(ctx context.Context, dn dockerNetwork, id string) error {
	p.mu.Lock()
	p.removing[id] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.removing, id)
		p.mu.Unlock()
	}()
	if err := p.engine.removeNetwork(ctx, dn.ID); err != nil && !errors.Is(err, errNoSuchObject) {
		return err
	}
	p.mu.Lock()
	delete(p.nets, dn.ID)
	p.saveBindings()
	p.mu.Unlock()
	p.log.Info("network removed from Docker", "network", dn.Name)
	return nil
}

// syncContainers tells the controller which container each of this host's
// Docker endpoints belongs to (names, aliases, links: what DNS answers),
// and removes endpoints whose container is gone for good.
//
// An endpoint is taken for lost only on evidence: its network was read
// from the engine in this pass and the one before (a failed inspect says
// nothing), it was missing from both, and it is older than orphanAfter.
// Docker deletes its endpoints through the plugin; one it no longer knows
// was lost in a crash.
func (p *Plugin) syncContainers(ctx context.Context, st *model.HostState, dnets []dockerNetwork) error {
	var errs []error
	owner := map[string]string{}   // endpoint id → container id
	inspected := map[string]bool{} // ovsnet network ids read in full
	for _, dn := range dnets {
		full, err := p.engine.network(ctx, dn.ID)
		if err != nil {
			if !errors.Is(err, errNoSuchObject) {
				errs = append(errs, fmt.Errorf("inspecting Docker network %s: %w", dn.Name, err))
			}
			continue
		}
		id := dn.Options[optNetworkID]
		p.mu.Lock()
		if bound, ok := p.nets[dn.ID]; ok {
			id = bound
		}
		p.mu.Unlock()
		if id != "" {
			inspected[id] = true
		}
		for cid, c := range full.Containers {
			owner[c.EndpointID] = cid
		}
	}
	done := map[string]bool{}
	missing := map[string]bool{}
	for _, ep := range st.Endpoints {
		if !ep.Docker || ep.Host != p.a.HostName() {
			continue
		}
		cid, ok := owner[ep.ID]
		if !ok {
			if !inspected[ep.NetworkID] || time.Since(ep.Created) < p.orphanAfter {
				continue
			}
			missing[ep.ID] = true
			if !p.orphans[ep.ID] {
				continue // confirm in the next pass
			}
			err := p.api.Disconnect(ctx, ep.NetworkID, model.NetworkDisconnectRequest{Container: ep.ID, Force: true})
			if err != nil && !client.IsNotFound(err) {
				errs = append(errs, err)
			} else {
				p.log.Info("removed a Docker endpoint the engine no longer has", "endpoint", model.ShortID(ep.ID))
			}
			continue
		}
		if ep.ContainerID == cid && !strings.HasPrefix(ep.ContainerName, placeholderPrefix) {
			continue
		}
		if !done[cid] {
			done[cid] = true
			errs = append(errs, p.describeContainer(ctx, cid))
		}
	}
	p.orphans = missing
	return errors.Join(errs...)
}

// describeContainer reads a container from the engine and updates all its
// ovsnet endpoints with its id, name, aliases and links.
func (p *Plugin) describeContainer(ctx context.Context, containerID string) error {
	c, err := p.engine.container(ctx, containerID)
	if errors.Is(err, errNoSuchObject) {
		return nil
	}
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(c.Name, "/")
	var links []model.Link
	for _, l := range c.HostConfig.Links {
		// Docker's form: "/mysql01:/web/db".
		target, alias, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		alias = alias[strings.LastIndex(alias, "/")+1:]
		links = append(links, model.Link{Name: strings.TrimPrefix(target, "/"), Alias: alias})
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Alias < links[j].Alias })
	var errs []error
	for _, settings := range c.NetworkSettings.Networks {
		p.mu.Lock()
		_, ours := p.nets[settings.NetworkID]
		p.mu.Unlock()
		if !ours || settings.EndpointID == "" {
			continue
		}
		links := slices.Clip(links)
		for _, l := range settings.Links {
			if link, err := model.ParseLink(l); err == nil {
				links = append(links, link)
			}
		}
		aliases := []string{}
		for _, a := range settings.Aliases {
			if a != name {
				aliases = append(aliases, a)
			}
		}
		id, cname := c.ID, name
		_, err := p.api.UpdateEndpoint(ctx, settings.EndpointID, model.EndpointUpdate{
			ContainerID: &id, ContainerName: &cname, Aliases: &aliases, Links: &links})
		if err != nil && !client.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// eventLoop follows the engine's events: a container joining a network is
// described to the controller at once; anything else triggers a sync.
func (p *Plugin) eventLoop(ctx context.Context) {
	for ctx.Err() == nil {
		err := p.engine.events(ctx, func(ev dockerEvent) {
			if ev.Type == "network" && ev.Action == "connect" && ev.Actor.Attributes["type"] == dockerDriver {
				go func() {
					cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					defer cancel()
					if err := p.describeContainer(cctx, ev.Actor.Attributes["container"]); err != nil {
						p.log.Warn("describing a container to the controller", "container", model.ShortID(ev.Actor.Attributes["container"]), "err", err)
					}
				}()
				return
			}
			if ev.Type == "network" && (ev.Action == "create" || ev.Action == "destroy") {
				p.trigger()
			}
		})
		if ctx.Err() != nil {
			return
		}
		p.log.Debug("Docker event stream ended; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Bindings of engine networks to ovsnet networks are kept on disk: a
// network a user created in Docker carries no ovsnet id, and after a
// restart the agent must still tell "registered from here, since removed
// from the cluster" (remove it from the engine) from "new" (register it).
func (p *Plugin) bindingsPath() string {
	return filepath.Join(p.cfg.StateDir, "docker-networks.json")
}

// saveBindings writes p.nets; the caller holds p.mu.
func (p *Plugin) saveBindings() {
	b, err := json.Marshal(p.nets)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p.bindingsPath()), 0o700); err != nil {
		return
	}
	tmp := p.bindingsPath() + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		_ = os.Rename(tmp, p.bindingsPath())
	}
}

func (p *Plugin) loadBindings() {
	b, err := os.ReadFile(p.bindingsPath())
	if err != nil {
		return
	}
	nets := map[string]string{}
	if json.Unmarshal(b, &nets) == nil {
		p.mu.Lock()
		for k, v := range nets {
			p.nets[k] = v
		}
		p.mu.Unlock()
	}
}
