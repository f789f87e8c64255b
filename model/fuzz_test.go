package model

import (
	"encoding/json"
	"testing"
)

// Whatever a record or a request holds, validation answers without
// panicking; what it accepts, it accepts again after a JSON round trip.
func FuzzNetworkAndEndpointValidation(f *testing.F) {
	f.Add([]byte(`{"id":"x","name":"n","driver":"overlay","scope":"global","subnet":"10.0.0.0/24","gateway":"10.0.0.1","vni":4097}`),
		[]byte(`{"id":"0000000000000000000000000000000000000000000000000000000000000001","networkId":"x","host":"h1","containerName":"c","mac":"02:42:0a:00:00:02","ipv4":"10.0.0.2/24"}`))
	f.Add([]byte(`{"name":"b","driver":"bridge","scope":"local","host":"h1","subnet":"fd00::/64","gateway":"fd00::1","enableIPv6":true,"subnet6":"fd00::/120","gateway6":"::","labels":{"":""}}`),
		[]byte(`{"aliases":["a","-"],"links":[{"name":"x","alias":""}],"published":[{"proto":"sctp","port":0}],"netns":"relative"}`))
	f.Add([]byte(`{"subnet":"10.0.0.0/33","ipRange":"10.0.0.0/8","mtu":-1}`), []byte(`{"mac":"ff:ff:ff:ff:ff:ff"}`))
	f.Fuzz(func(t *testing.T, netJSON, epJSON []byte) {
		var n Network
		if json.Unmarshal(netJSON, &n) != nil {
			return
		}
		netErr := n.Validate()
		var ep Endpoint
		if json.Unmarshal(epJSON, &ep) == nil {
			_ = ep.Validate(&n)
		}
		if netErr != nil {
			return
		}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("a valid network does not encode: %v", err)
		}
		var again Network
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("a valid network does not decode: %v", err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("valid, then invalid after a round trip: %v\n%s", err, b)
		}
	})
}

// Docker's link and MAC syntaxes: no panic, and what parses prints back.
func FuzzParseLinkAndMAC(f *testing.F) {
	f.Add("db:mysql", "02:42:0a:00:00:02")
	f.Add("/a", "02-42-0A-00-00-02")
	f.Add("::", "0000.0000.0000")
	f.Fuzz(func(t *testing.T, link, mac string) {
		if l, err := ParseLink(link); err == nil {
			if again, err := ParseLink(l.Name + ":" + l.Alias); err != nil || again != l {
				t.Fatalf("%q parsed as %+v, which does not parse back: %v", link, l, err)
			}
		}
		if m, err := ParseMAC(mac); err == nil {
			if again, err := ParseMAC(m.String()); err != nil || again.String() != m.String() {
				t.Fatalf("%q parsed as %s, which does not parse back: %v", mac, m, err)
			}
		}
	})
}
