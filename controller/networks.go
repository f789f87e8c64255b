package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ovsnet/ovsnet/internal/store"
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

// networkFromRequest turns a Docker create request into a network record,
// validating everything that does not depend on other networks.
func networkFromRequest(req model.NetworkCreateRequest) (model.Network, error) {
	n := model.Network{Name: req.Name, Internal: req.Internal, EnableIPv6: req.EnableIPv6,
		Labels: req.Labels, Options: map[string]string{}}
	if err := model.ValidateName("network", req.Name); err != nil {
		return n, invalid(err)
	}
	switch req.Driver {
	case "overlay", "ovsnet":
		n.Driver, n.Scope = model.DriverOverlay, model.ScopeGlobal
	case "", "bridge":
		// Docker's default driver is bridge; the docker CLI always sends it.
		n.Driver, n.Scope = model.DriverBridge, model.ScopeLocal
	default:
		return n, fieldErrorf(ErrInvalid, model.FieldDriver, "driver %q is not supported: ovsnet networks use driver \"overlay\" (multi-host) or \"bridge\" (one host)", req.Driver)
	}
	if req.Scope != "" && req.Scope != string(n.Scope) && !(req.Scope == "swarm" && n.Driver == model.DriverOverlay) {
		return n, fieldErrorf(ErrInvalid, model.FieldDriver, "scope %q does not fit driver %s (scope %s)", req.Scope, n.Driver, n.Scope)
	}
	if req.Ingress {
		return n, errorf(ErrInvalid, "ingress networks are not supported")
	}
	if req.ConfigOnly || req.ConfigFrom != nil && req.ConfigFrom.Network != "" {
		return n, errorf(ErrInvalid, "config-only networks are not supported")
	}
	for k, v := range req.Options {
		switch k {
		case model.OptEncrypted:
			return n, errorf(ErrInvalid, "%s", model.EncryptionRefused)
		case model.OptHost:
			if err := model.ValidateName("host", v); err != nil {
				return n, fieldErrorf(ErrInvalid, model.FieldHost, "option %s: %v", k, err)
			}
			n.Host = v
		case model.OptMTU:
			mtu, err := strconv.Atoi(v)
			if err != nil {
				return n, fieldErrorf(ErrInvalid, model.FieldMTU, "option %s: %q is not a number", k, v)
			}
			n.MTU = mtu
		default:
			if strings.HasPrefix(k, "ovsnet.") {
				return n, errorf(ErrInvalid, "unknown option %s: ovsnet's network options are %s (and %s); auxiliary addresses go in the IPAM configuration (--aux-address)", k, model.OptHost, model.OptMTU)
			}
		}
		n.Options[k] = v
	}
	if req.IPAM != nil {
		switch req.IPAM.Driver {
		case "", "default", "ovsnet":
		default:
			return n, errorf(ErrInvalid, "IPAM driver %q is not supported: ovsnet allocates addresses itself", req.IPAM.Driver)
		}
		if len(req.IPAM.Options) > 0 {
			return n, errorf(ErrInvalid, "IPAM options are not supported: ovsnet's allocator takes none (use the subnet, ip-range, gateway and auxiliary addresses)")
		}
		for _, c := range req.IPAM.Config {
			if err := applyIPAMConfig(&n, c); err != nil {
				return n, err
			}
		}
	}
	if n.Subnet6.IsValid() && !n.EnableIPv6 {
		return n, fieldErrorf(ErrInvalid, model.FieldSubnet6, "IPv6 subnet %s given, but IPv6 is not enabled: add --ipv6", n.Subnet6)
	}
	return n, nil
}

func applyIPAMConfig(n *model.Network, c model.IPAMConfig) error {
	if c.Subnet == "" {
		if c.Gateway != "" || c.IPRange != "" {
			return fieldErrorf(ErrInvalid, model.FieldSubnet, "a gateway or ip-range needs a subnet (--subnet)")
		}
		return nil
	}
	subnet, err := netip.ParsePrefix(c.Subnet)
	if err != nil {
		field := model.FieldSubnet
		if strings.Contains(c.Subnet, ":") {
			field = model.FieldSubnet6
		}
		return fieldErrorf(ErrInvalid, field, "invalid subnet %s: want an address and prefix length (CIDR)", c.Subnet)
	}
	var gw netip.Addr
	if c.Gateway != "" {
		if gw, err = netip.ParseAddr(c.Gateway); err != nil {
			field := model.FieldGateway
			if subnet.Addr().Is6() {
				field = model.FieldGateway6
			}
			return fieldErrorf(ErrInvalid, field, "invalid gateway %s: want an address", c.Gateway)
		}
	}
	var rng netip.Prefix
	if c.IPRange != "" {
		if rng, err = netip.ParsePrefix(c.IPRange); err != nil {
			return fieldErrorf(ErrInvalid, model.FieldIPRange, "invalid ip-range %s: want an address and prefix length (CIDR)", c.IPRange)
		}
	}
	if subnet.Addr().Is4() {
		if n.Subnet.IsValid() {
			return fieldErrorf(ErrInvalid, model.FieldSubnet, "ovsnet networks have one IPv4 subnet; got %s and %s", n.Subnet, subnet)
		}
		n.Subnet, n.Gateway, n.IPRange = subnet, gw, rng
	} else {
		if n.Subnet6.IsValid() {
			return fieldErrorf(ErrInvalid, model.FieldSubnet6, "ovsnet networks have one IPv6 subnet; got %s and %s", n.Subnet6, subnet)
		}
		if rng.IsValid() {
			return fieldErrorf(ErrInvalid, model.FieldIPRange, "ip-range is supported for IPv4 only")
		}
		n.Subnet6, n.Gateway6 = subnet, gw
	}
	for name, a := range c.AuxiliaryAddresses {
		addr, err := netip.ParseAddr(a)
		if err != nil || !subnet.Contains(addr) {
			return errorf(ErrInvalid, "auxiliary address %s=%s is not an address of %s", name, a, subnet)
		}
		n.Options[model.OptAuxPrefix+name] = addr.String()
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
	n.ID, n.Created = newID(), time.Now().UTC()
	userSubnet := n.Subnet.IsValid()
	var created model.Network
	_, err = c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		cand, poolAt, err := s.planNetwork(n)
		if err != nil {
			return nil, err
		}
		seq := s.catalogSeq + 1
		networkTxn(c.st, t.Txn, cand, userSubnet, seq)
		created = cand
		return func(s *state, index uint64) {
			s.putNetwork(cand, index)
			if !userSubnet {
				s.pools[cand.Subnet] = cand.ID
				s.poolHint[cand.Driver] = poolAt + 1
			}
			for a, holder := range auxAddresses(cand) {
				s.networks[cand.ID].ipam[a] = store.Holder{Value: holder, Index: index}
			}
			s.catalogSeq = seq
		}, nil
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("network created", "network", created.Name, "id", model.ShortID(created.ID), "driver", created.Driver,
		"subnet", created.Subnet, "vni", created.VNI)
	return &created, nil
}

// planNetwork completes a requested network against the state: its VNI,
// its default subnets and gateways, and the checks that need the other
// networks (unique name, bridge subnets that do not overlap on one host).
// poolAt is the position of the default pool it takes (-1 for none).
func (s *state) planNetwork(n model.Network) (model.Network, int, error) {
	if _, ok := s.byName[n.Name]; ok {
		return n, -1, fieldErrorf(ErrConflict, model.FieldName, "network with name %s already exists", n.Name)
	}
	cand := n
	cand.Options = maps.Clone(n.Options)
	if cand.Options == nil {
		cand.Options = map[string]string{}
	}
	cand.VNI = s.freeVNI()
	poolAt := -1
	if !cand.Subnet.IsValid() {
		var err error
		if cand.Subnet, poolAt, err = model.DefaultSubnetFrom(cand.Driver, s.takenSubnets(), s.poolHint[cand.Driver]); err != nil {
			return n, -1, fieldErrorf(ErrInvalid, model.FieldSubnet, "%v", err)
		}
	} else if cand.Driver == model.DriverBridge {
		// Bridge subnets meet in the host's kernel: they must not overlap
		// another bridge network of the same host.
		for _, ns := range s.networks {
			o := ns.Value
			if o.Driver == model.DriverBridge && o.Host == cand.Host && o.Subnet.Overlaps(cand.Subnet) {
				return n, -1, fieldErrorf(ErrForbidden, model.FieldSubnet, "Pool overlaps with other one on this address space: %s overlaps %s of network %s on host %s", cand.Subnet, o.Subnet, o.Name, o.Host)
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
		return n, -1, invalid(err)
	}
	for a := range auxAddresses(cand) {
		if model.Reserved(cand.Subnet, cand.Gateway, a) || (a.Is6() && model.Reserved(cand.Subnet6, cand.Gateway6, a)) {
			return n, -1, errorf(ErrInvalid, "auxiliary address %s is reserved (network, broadcast or gateway)", a)
		}
	}
	return cand, poolAt, nil
}

// auxAddresses are a network's auxiliary addresses with their holders
// (checked when the request was read).
func auxAddresses(n model.Network) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for k, v := range n.Options {
		if name, ok := strings.CutPrefix(k, model.OptAuxPrefix); ok {
			if a, err := netip.ParseAddr(v); err == nil {
				out[a] = store.AuxHolder(name)
			}
		}
	}
	return out
}

// networkTxn adds a new network's records and guards to t.
func networkTxn(st *store.Store, t *store.Txn, n model.Network, userSubnet bool, seq uint64) {
	k := st.K
	t.MustNotExist(k.NetName(n.Name))
	t.MustNotExist(k.VNI(n.VNI))
	if !userSubnet {
		t.MustNotExist(k.Pool(n.Subnet))
		t.PutRaw(k.Pool(n.Subnet), n.ID)
	}
	t.CAS(k.Network(n.ID), n, 0)
	t.PutRaw(k.NetName(n.Name), n.ID)
	t.PutRaw(k.VNI(n.VNI), n.ID)
	for a, holder := range auxAddresses(n) {
		t.PutRaw(k.IPAM(n.ID, a), holder)
	}
	if n.Scope == model.ScopeLocal {
		t.PutRaw(k.Owner(n.Host, n.ID), "")
	}
	st.CatalogPut(t, store.CatalogEvent{Seq: seq, NetworkID: n.ID})
}

// RemoveNetwork deletes a network that has no endpoints left, with
// everything it holds, in one transaction.
func (c *Controller) RemoveNetwork(ctx context.Context, ref string) error {
	var removed model.Network
	_, err := c.change(ctx, func(s *state, t *writes) (func(*state, uint64), error) {
		ns, err := s.network(ref)
		if err != nil {
			return nil, err
		}
		n := ns.Value
		if eps := s.endpointsOf(n.ID); len(eps) > 0 {
			return nil, activeEndpointsError(&n, eps)
		}
		k := c.st.K
		seq := s.catalogSeq + 1
		t.DeleteCAS(k.Network(n.ID), ns.Index)
		t.Delete(k.NetName(n.Name))
		t.Delete(k.VNI(n.VNI))
		if s.pools[n.Subnet] == n.ID {
			t.Delete(k.Pool(n.Subnet))
		}
		t.DeleteTree(k.IPAMOf(n.ID))
		t.DeleteTree(k.AttachOf(n.ID))
		t.DeleteTree(k.NetworkEndpoints(n.ID))
		t.DeleteTree(k.NetworkChanges(n.ID))
		if n.Scope == model.ScopeLocal {
			t.Delete(k.Owner(n.Host, n.ID))
		}
		c.st.CatalogPut(t.Txn, store.CatalogEvent{Seq: seq, NetworkID: n.ID, Removed: true})
		removed = n
		return func(s *state, _ uint64) {
			s.removeNetwork(n.ID)
			s.catalogSeq = seq
		}, nil
	})
	if err != nil {
		return err
	}
	c.log.Info("network removed", "network", removed.Name, "id", model.ShortID(removed.ID))
	return nil
}

func activeEndpointsError(n *model.Network, eps []model.Endpoint) error {
	var names []string
	for _, ep := range eps {
		names = append(names, ep.ContainerName+"@"+ep.Host)
	}
	return errorf(ErrForbidden, "error while removing network: network %s id %s has active endpoints (%s)", n.Name, n.ID, strings.Join(names, ", "))
}
