package ovsagent

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sort"
	"testing"

	"github.com/ovsnet/ovsnet/model"
)

// hostStateFromScratch is the flat form by its definition: every network's
// endpoints, sorted whole.
func hostStateFromScratch(d *Desired) *model.HostState {
	st := &model.HostState{Host: d.Host}
	peers := map[string]netip.Addr{}
	for id, n := range d.Networks {
		st.Networks = append(st.Networks, *n)
		for _, ep := range d.Endpoints[id] {
			st.Endpoints = append(st.Endpoints, *ep)
			if ep.Host != d.Host && ep.TunnelIP.IsValid() {
				peers[ep.Host] = ep.TunnelIP
			}
		}
		st.Generation = max(st.Generation, d.Index[id])
	}
	for name, ip := range peers {
		st.Hosts = append(st.Hosts, model.Host{Name: name, TunnelIP: ip})
	}
	for _, n := range d.Catalog {
		st.Catalog = append(st.Catalog, *n)
	}
	sort.Slice(st.Hosts, func(i, j int) bool { return st.Hosts[i].Name < st.Hosts[j].Name })
	model.SortNetworks(st.Networks)
	model.SortNetworks(st.Catalog)
	model.SortEndpoints(st.Endpoints)
	return st
}

// The agent's flattener, fed a sequence of desired states that share
// their unchanged parts as the source makes them, renders each exactly as
// a sort from scratch does, and sorts again only the networks that changed.
func TestFlattenerMatchesFromScratch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	d := NewDesired("h1")
	var f flattener
	for step := range 300 {
		d = d.clone()
		switch op := rng.IntN(6); {
		case op == 0 || len(d.Networks) == 0: // a network arrives
			n := &model.Network{ID: fmt.Sprintf("net%02d", rng.IntN(12)), Name: fmt.Sprintf("n%d", step)}
			d.Networks[n.ID] = n
			d.Endpoints[n.ID] = map[string]*model.Endpoint{}
			d.Index[n.ID] = uint64(step)
		case op == 1: // a network leaves
			for id := range d.Networks {
				delete(d.Networks, id)
				delete(d.Endpoints, id)
				delete(d.Index, id)
				break
			}
		case op == 5: // the catalog changes
			cat := map[string]*model.Network{}
			for k, v := range d.Catalog {
				cat[k] = v
			}
			cat[fmt.Sprintf("c%d", step%7)] = &model.Network{ID: fmt.Sprintf("c%d", step%7), Name: fmt.Sprintf("cat%d", step)}
			d.Catalog = cat
		default: // an endpoint added or removed: that network's map is new
			for id := range d.Networks {
				eps := map[string]*model.Endpoint{}
				for k, v := range d.Endpoints[id] {
					eps[k] = v
				}
				if len(eps) > 0 && rng.IntN(3) == 0 {
					for k := range eps {
						delete(eps, k)
						break
					}
				} else {
					host := fmt.Sprintf("h%d", 1+rng.IntN(4))
					ep := &model.Endpoint{ID: fmt.Sprintf("ep%04d", step), NetworkID: id, Host: host,
						ContainerName: fmt.Sprintf("c%d", rng.IntN(5)), TunnelIP: netip.AddrFrom4([4]byte{192, 0, 2, byte(len(host))})}
					eps[ep.ID] = ep
				}
				d.Endpoints[id] = eps
				d.Index[id] = uint64(step)
				break
			}
		}
		prev := map[string]flatNetwork{}
		for id, fn := range f.nets {
			prev[id] = fn
		}
		got, want := f.hostState(d), hostStateFromScratch(d)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: flattened\n%+v\nfrom scratch\n%+v", step, got, want)
		}
		for id, fn := range f.nets {
			p, ok := prev[id]
			if !ok || len(p.eps) == 0 || len(fn.eps) == 0 {
				continue
			}
			if reused := &p.eps[0] == &fn.eps[0]; reused != sameMap(p.from, fn.from) {
				t.Fatalf("step %d: network %s: sorted copy reused %v, but its endpoint map unchanged %v", step, id, reused, !reused)
			}
		}
	}
}

// A network whose endpoint map did not change keeps its sorted copy.
func TestFlattenerReusesUnchangedNetworks(t *testing.T) {
	d := NewDesired("h1")
	for _, id := range []string{"a", "b"} {
		d.Networks[id] = &model.Network{ID: id, Name: id}
		d.Endpoints[id] = map[string]*model.Endpoint{"e" + id: {ID: "e" + id, NetworkID: id, Host: "h2", ContainerName: "c"}}
	}
	var f flattener
	f.hostState(d)
	keptA, keptB := &f.nets["a"].eps[0], &f.nets["b"].eps[0]
	next := d.clone()
	next.Endpoints["b"] = map[string]*model.Endpoint{"eb2": {ID: "eb2", NetworkID: "b", Host: "h3", ContainerName: "d"}}
	st := f.hostState(next)
	if &f.nets["a"].eps[0] != keptA {
		t.Errorf("network a did not change, but was sorted again")
	}
	if &f.nets["b"].eps[0] == keptB {
		t.Errorf("network b changed, but its old copy was kept")
	}
	if len(st.Endpoints) != 2 || st.Endpoints[1].ID != "eb2" {
		t.Errorf("endpoints %+v", st.Endpoints)
	}
	// What callers get is their own copy: changing it changes no later state.
	st.Endpoints[0].ContainerName = "changed"
	if again := f.hostState(next); again.Endpoints[0].ContainerName != "c" {
		t.Errorf("a caller's change reached the flattener's copy")
	}
}

func BenchmarkHostStateOneChange(b *testing.B) {
	d := NewDesired("h1")
	d.Catalog = map[string]*model.Network{}
	for n := range 1000 {
		net := &model.Network{ID: fmt.Sprintf("%064x", n+1), Name: fmt.Sprintf("net%d", n)}
		d.Networks[net.ID], d.Catalog[net.ID] = net, net
		d.Endpoints[net.ID] = map[string]*model.Endpoint{}
		for i := range 20 {
			ip := netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), byte(i + 2)})
			ep := &model.Endpoint{ID: fmt.Sprintf("%032x%032x", n+1, i+1), NetworkID: net.ID, Host: fmt.Sprintf("h%d", 1+i%8),
				ContainerName: fmt.Sprintf("c%d-%d", n, i), IPv4: netip.PrefixFrom(ip, 24)}
			d.Endpoints[net.ID][ep.ID] = ep
		}
	}
	var f flattener
	f.hostState(d)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		next := d.clone()
		id := fmt.Sprintf("%064x", 1+i%1000)
		eps := map[string]*model.Endpoint{}
		for k, v := range d.Endpoints[id] {
			eps[k] = v
		}
		next.Endpoints[id] = eps
		f.hostState(next)
	}
}

func BenchmarkHostStateFromScratch(b *testing.B) {
	d := NewDesired("h1")
	for n := range 1000 {
		net := &model.Network{ID: fmt.Sprintf("%064x", n+1), Name: fmt.Sprintf("net%d", n)}
		d.Networks[net.ID] = net
		d.Endpoints[net.ID] = map[string]*model.Endpoint{}
		for i := range 20 {
			ep := &model.Endpoint{ID: fmt.Sprintf("%032x%032x", n+1, i+1), NetworkID: net.ID, Host: fmt.Sprintf("h%d", 1+i%8),
				ContainerName: fmt.Sprintf("c%d-%d", n, i)}
			d.Endpoints[net.ID][ep.ID] = ep
		}
	}
	b.ReportAllocs()
	for range b.N {
		hostStateFromScratch(d)
	}
}
