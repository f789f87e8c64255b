package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/model"
)

// newID returns a 64-hex-digit id, like Docker's.
func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// retries bounds optimistic-concurrency loops: a conflict means another
// writer won a race, so the next attempt sees its result.
const retries = 8

// networkFromRequest turns a Docker create request into a network record,
// validating everything that does not depend on other networks.
func networkFromRequest(req model.NetworkCreateRequest) (model.Network, error) {
	n := model.Network{Name: req.Name, Internal: req.Internal, EnableIPv6: req.EnableIPv6,
		Labels: req.Labels, Options: map[string]string{}}
	if err := model.ValidateName("network", req.Name); err != nil {
		return n, errorf(ErrInvalid, "%v", err)
	}
	switch req.Driver {
	case "overlay", "ovsnet":
		n.Driver, n.Scope = model.DriverOverlay, model.ScopeGlobal
	case "", "bridge":
		// Docker's default driver is bridge; the docker CLI always sends it.
		n.Driver, n.Scope = model.DriverBridge, model.ScopeLocal
	default:
		return n, errorf(ErrInvalid, "driver %q is not supported: ovsnet networks use driver \"overlay\" (multi-host) or \"bridge\" (one host)", req.Driver)
	}
	if req.Scope != "" && req.Scope != string(n.Scope) && !(req.Scope == "swarm" && n.Driver == model.DriverOverlay) {
		return n, errorf(ErrInvalid, "scope %q does not fit driver %s (scope %s)", req.Scope, n.Driver, n.Scope)
	}
	if req.Ingress {
		return n, errorf(ErrInvalid, "ingress networks are not supported")
	}
	if req.ConfigOnly || req.ConfigFrom != nil && req.ConfigFrom.Network != "" {
		return n, errorf(ErrInvalid, "config-only networks are not supported")
	}
	for k, v := range req.Options {
		switch k {
		case model.OptHost:
			if err := model.ValidateName("host", v); err != nil {
				return n, errorf(ErrInvalid, "option %s: %v", k, err)
			}
			n.Host = v
		case model.OptMTU:
			mtu, err := strconv.Atoi(v)
			if err != nil {
				return n, errorf(ErrInvalid, "option %s: %q is not a number", k, v)
			}
			n.MTU = mtu
		}
		n.Options[k] = v
	}
	if req.IPAM != nil {
		switch req.IPAM.Driver {
		case "", "default", "ovsnet":
		default:
			return n, errorf(ErrInvalid, "IPAM driver %q is not supported: ovsnet allocates addresses itself", req.IPAM.Driver)
		}
		for _, c := range req.IPAM.Config {
			if err := applyIPAMConfig(&n, c); err != nil {
				return n, err
			}
		}
	}
	if n.Subnet6.IsValid() && !n.EnableIPv6 {
		return n, errorf(ErrInvalid, "IPv6 subnet %s given, but IPv6 is not enabled: add --ipv6", n.Subnet6)
	}
	return n, nil
}

func applyIPAMConfig(n *model.Network, c model.IPAMConfig) error {
	if c.Subnet == "" {
		if c.Gateway != "" || c.IPRange != "" {
			return errorf(ErrInvalid, "a gateway or ip-range needs a subnet (--subnet)")
		}
		return nil
	}
	subnet, err := netip.ParsePrefix(c.Subnet)
	if err != nil {
		return errorf(ErrInvalid, "invalid subnet %s: want an address and prefix length (CIDR)", c.Subnet)
	}
	var gw netip.Addr
	if c.Gateway != "" {
		if gw, err = netip.ParseAddr(c.Gateway); err != nil {
			return errorf(ErrInvalid, "invalid gateway %s: want an address", c.Gateway)
		}
	}
	var rng netip.Prefix
	if c.IPRange != "" {
		if rng, err = netip.ParsePrefix(c.IPRange); err != nil {
			return errorf(ErrInvalid, "invalid ip-range %s: want an address and prefix length (CIDR)", c.IPRange)
		}
	}
	if subnet.Addr().Is4() {
		if n.Subnet.IsValid() {
			return errorf(ErrInvalid, "ovsnet networks have one IPv4 subnet; got %s and %s", n.Subnet, subnet)
		}
		n.Subnet, n.Gateway, n.IPRange = subnet, gw, rng
	} else {
		if n.Subnet6.IsValid() {
			return errorf(ErrInvalid, "ovsnet networks have one IPv6 subnet; got %s and %s", n.Subnet6, subnet)
		}
		if rng.IsValid() {
			return errorf(ErrInvalid, "ip-range is supported for IPv4 only")
		}
		n.Subnet6, n.Gateway6 = subnet, gw
	}
	for name, a := range c.AuxiliaryAddresses {
		addr, err := netip.ParseAddr(a)
		if err != nil || !subnet.Contains(addr) {
			return errorf(ErrInvalid, "auxiliary address %s=%s is not an address of %s", name, a, subnet)
		}
		n.Options["ovsnet.aux."+name] = addr.String()
	}
	return nil
}

// CreateNetwork validates and stores a new network, picking its id, VNI and
// (when not given) its subnets. Names are unique cluster-wide.
func (c *Controller) CreateNetwork(ctx context.Context, req model.NetworkCreateRequest) (*model.Network, error) {
	n, err := networkFromRequest(req)
	if err != nil {
		return nil, err
	}
	userSubnet := n.Subnet.IsValid()
	// Creates through this replica run one at a time (they compete for
	// VNIs and default pools); other replicas are kept apart by the
	// transaction's guards and retried with jitter.
	c.createMu.Lock()
	defer c.createMu.Unlock()
	for attempt := 0; attempt < allocRetries; attempt++ {
		if attempt > 0 {
			backoffJitter(ctx, attempt)
		}
		sn, err := c.store.Load(ctx, 0)
		if err != nil {
			return nil, err
		}
		if _, err := sn.Network(n.Name); err == nil {
			existing, _ := sn.Network(n.Name)
			if existing.Name == n.Name {
				return nil, errorf(ErrConflict, "network with name %s already exists", n.Name)
			}
		}
		cand := n
		cand.ID = newID()
		cand.Created = time.Now().UTC()
		cand.VNI = freeVNI(sn)
		var taken []netip.Prefix
		for _, o := range sn.Networks {
			taken = append(taken, o.Subnet)
		}
		taken = append(taken, sn.pools...)
		if !userSubnet {
			if cand.Subnet, err = model.DefaultSubnet(cand.Driver, taken); err != nil {
				return nil, errorf(ErrInvalid, "%v", err)
			}
		} else if cand.Driver == model.DriverBridge {
			// Bridge subnets meet in the host's kernel: they must not overlap
			// another bridge network of the same host.
			for _, o := range sn.Networks {
				if o.Driver == model.DriverBridge && o.Host == cand.Host && o.Subnet.Overlaps(cand.Subnet) {
					return nil, errorf(ErrForbidden, "Pool overlaps with other one on this address space: %s overlaps %s of network %s on host %s", cand.Subnet, o.Subnet, o.Name, o.Host)
				}
			}
		}
		if !cand.Gateway.IsValid() {
			cand.Gateway = model.FirstHost(cand.Subnet)
		}
		if cand.EnableIPv6 {
			if !cand.Subnet6.IsValid() {
				cand.Subnet6 = model.DefaultSubnet6(cand.ID)
			}
			if !cand.Gateway6.IsValid() {
				cand.Gateway6 = model.FirstHost(cand.Subnet6)
			}
		}
		cand.Options[model.OptVNI] = strconv.FormatUint(uint64(cand.VNI), 10)
		if err := cand.Validate(); err != nil {
			return nil, errorf(ErrInvalid, "%v", err)
		}
		for k, v := range cand.Options {
			if strings.HasPrefix(k, "ovsnet.aux.") {
				a := netip.MustParseAddr(v)
				if model.Reserved(cand.Subnet, cand.Gateway, a) || (a.Is6() && model.Reserved(cand.Subnet6, cand.Gateway6, a)) {
					return nil, errorf(ErrInvalid, "auxiliary address %s is reserved (network, broadcast or gateway)", a)
				}
			}
		}

		var ops txnOps
		ops.mustNotExist(c.store.netNameKey(cand.Name))
		ops.mustNotExist(c.store.vniKey(cand.VNI))
		if !userSubnet {
			ops.mustNotExist(c.store.poolKey(cand.Subnet))
			ops.setRaw(c.store.poolKey(cand.Subnet), cand.ID)
		}
		if err := ops.set(c.store.networkKey(cand.ID), cand); err != nil {
			return nil, err
		}
		ops.setRaw(c.store.netNameKey(cand.Name), cand.ID)
		ops.setRaw(c.store.vniKey(cand.VNI), cand.ID)
		for k, v := range cand.Options {
			if strings.HasPrefix(k, "ovsnet.aux.") {
				ops.setRaw(c.store.ipamKey(cand.ID, netip.MustParseAddr(v)), "aux:"+strings.TrimPrefix(k, "ovsnet.aux."))
			}
		}
		_, err = c.store.commit(ctx, ops)
		switch {
		case err == nil:
			c.log.Info("network created", "network", cand.Name, "id", model.ShortID(cand.ID), "driver", cand.Driver,
				"subnet", cand.Subnet, "vni", cand.VNI)
			c.kick()
			return &cand, nil
		case conflictOn(err, c.store.netNameKey(cand.Name)):
			return nil, errorf(ErrConflict, "network with name %s already exists", cand.Name)
		case isConflict(err):
			continue // lost a race for a VNI or pool; look again
		default:
			return nil, err
		}
	}
	return nil, errorf(ErrConflict, "could not create network %s: too many concurrent changes, try again", n.Name)
}

func freeVNI(sn *Snapshot) uint32 {
	used := map[uint32]bool{}
	for _, n := range sn.Networks {
		used[n.VNI] = true
	}
	v := uint32(model.MinVNI + 1)
	for used[v] {
		v++
	}
	return v
}

// RemoveNetwork deletes a network that has no endpoints left. The network
// record is first marked (a CAS write), so a connect racing with the removal
// fails its own check-index guard instead of leaving an orphan endpoint.
func (c *Controller) RemoveNetwork(ctx context.Context, ref string) error {
	for attempt := 0; attempt < retries; attempt++ {
		sn, err := c.store.Load(ctx, 0)
		if err != nil {
			return err
		}
		n, err := sn.Network(ref)
		if err != nil {
			return err
		}
		if eps := sn.EndpointsOf(n.ID); len(eps) > 0 {
			return activeEndpointsError(n, eps)
		}
		marked := *n
		marked.Removing = true
		var mark txnOps
		if err := mark.cas(c.store.networkKey(n.ID), marked, sn.netIndex[n.ID]); err != nil {
			return err
		}
		_, err = c.store.commit(ctx, mark)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		after, err := c.store.Load(ctx, 0)
		if err != nil {
			return err
		}
		idx := after.netIndex[n.ID]
		if eps := after.EndpointsOf(n.ID); len(eps) > 0 {
			var unmark txnOps
			_ = unmark.cas(c.store.networkKey(n.ID), n, idx)
			_, _ = c.store.commit(ctx, unmark)
			return activeEndpointsError(n, eps)
		}
		var ops txnOps
		ops.deleteCAS(c.store.networkKey(n.ID), idx)
		ops.del(c.store.netNameKey(n.Name))
		ops.del(c.store.vniKey(n.VNI))
		ops.del(c.store.poolKey(n.Subnet))
		ops.deleteTree(c.store.ipamPrefix(n.ID))
		ops.deleteTree(c.store.attachPrefix(n.ID))
		if _, err := c.store.commit(ctx, ops); err != nil {
			if isConflict(err) {
				continue
			}
			return err
		}
		c.log.Info("network removed", "network", n.Name, "id", model.ShortID(n.ID))
		c.kick()
		return nil
	}
	return errorf(ErrConflict, "could not remove network %s: too many concurrent changes, try again", ref)
}

func activeEndpointsError(n *model.Network, eps []model.Endpoint) error {
	var names []string
	for _, ep := range eps {
		names = append(names, ep.ContainerName+"@"+ep.Host)
	}
	return errorf(ErrForbidden, "error while removing network: network %s id %s has active endpoints (%s)", n.Name, n.ID, strings.Join(names, ", "))
}
