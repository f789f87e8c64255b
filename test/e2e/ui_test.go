//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/flows"
	"github.com/ovsnet/ovsnet/model"
	"github.com/ovsnet/ovsnet/test/cluster"
	"github.com/ovsnet/ovsnet/test/lab"
)

// A new user, in a real browser, against a lab of three hosts: creates a
// network in the UI and finds it in the REST API and, once containers are
// attached, on every host's OVS; watches containers appear in (and leave)
// the topology without reloading; traces a reachable pair (delivered, over
// the tunnel) and a pair in different networks (dropped, naming the
// table); and gets a bad subnet's error next to the subnet field. Every
// page is saved as a screenshot under test/artifacts/ui.
func TestWebUI(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 3})
	h1, h2, h3 := c.Lab.Hosts[0], c.Lab.Hosts[1], c.Lab.Hosts[2]
	b := newBrowser(t)
	url := c.Controllers[0].URL

	// Create a network with the form.
	b.run("open networks", chromedp.Navigate(url+"/#/networks"), chromedp.WaitVisible(chromedp.CSS("#networks-table")))
	b.waitFor("empty list", `document.querySelector("#networks-table tbody").textContent.includes("No networks yet")`, 10*time.Second)
	b.run("open the form", chromedp.Click(chromedp.CSS("#create-toggle")), chromedp.WaitVisible(chromedp.CSS("#f-name")))
	b.run("fill the form",
		chromedp.SendKeys(chromedp.CSS("#f-name"), "uinet"),
		chromedp.SendKeys(chromedp.CSS("#f-subnet"), "10.40.0.0/24"),
		chromedp.SendKeys(chromedp.CSS("#f-ipRange"), "10.40.0.128/25"),
		chromedp.Click(chromedp.CSS("#f-ipv6")),
		chromedp.WaitVisible(chromedp.CSS("#f-subnet6")),
		chromedp.SendKeys(chromedp.CSS("#f-subnet6"), "fd00:40::/64"))
	b.screenshot("create-network-form")
	b.run("submit", chromedp.Click(chromedp.CSS("#create-submit")))
	b.waitFor("network page", `location.hash === "#/networks/uinet" && document.querySelector("#fact-vni") !== null`, 15*time.Second)

	// The REST API has it, with every option the form set.
	n, err := c.API.InspectNetwork(context.Background(), "uinet")
	if err != nil {
		t.Fatalf("the network created in the UI is not in the REST API: %v", err)
	}
	if n.Driver != "overlay" || !n.EnableIPv6 || len(n.IPAM.Config) != 2 || n.IPAM.Config[0].Subnet != "10.40.0.0/24" ||
		n.IPAM.Config[0].IPRange != "10.40.0.128/25" || n.IPAM.Config[1].Subnet != "fd00:40::/64" {
		t.Fatalf("network created in the UI: %+v", n)
	}
	vni := n.Options[model.OptVNI]
	if got := b.text("#fact-vni"); !strings.HasPrefix(got, vni+" ") {
		t.Fatalf("network page shows VNI %q, the API says %s", got, vni)
	}

	// A bad subnet: the server's error shows next to the subnet field and
	// nothing is created.
	b.run("open networks again", chromedp.Navigate(url+"/#/networks"), chromedp.WaitVisible(chromedp.CSS("#create-toggle")))
	b.waitFor("list shows uinet", `document.querySelector('#networks-table tr[data-network="uinet"]') !== null`, 10*time.Second)
	b.run("bad subnet",
		chromedp.Click(chromedp.CSS("#create-toggle")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "badnet"),
		chromedp.SendKeys(chromedp.CSS("#f-subnet"), "10.0.0.0/33"),
		chromedp.Click(chromedp.CSS("#create-submit")))
	b.waitFor("subnet error", `document.querySelector("#err-subnet").textContent !== ""`, 10*time.Second)
	if got := b.text("#err-subnet"); !strings.Contains(got, "invalid subnet 10.0.0.0/33") {
		t.Fatalf("error next to the subnet field: %q", got)
	}
	if invalid, _ := b.evalBool(`document.querySelector("#field-subnet").classList.contains("invalid")`); !invalid {
		t.Fatal("the subnet field is not marked invalid")
	}
	if got := b.text("#err-form") + b.text("#err-name") + b.text("#err-gateway"); got != "" {
		t.Fatalf("the subnet's error also shows elsewhere: %q", got)
	}
	b.screenshot("create-network-invalid-subnet")
	if _, err := c.API.InspectNetwork(context.Background(), "badnet"); !client.IsNotFound(err) {
		t.Fatalf("a rejected create left network badnet behind (err %v)", err)
	}
	// A gateway outside the subnet is the gateway's error, not the subnet's.
	b.run("bad gateway",
		chromedp.SetValue(chromedp.CSS("#f-subnet"), "10.41.0.0/24"),
		chromedp.SendKeys(chromedp.CSS("#f-gateway"), "10.99.0.1"),
		chromedp.Click(chromedp.CSS("#create-submit")))
	b.waitFor("gateway error", `document.querySelector("#err-gateway").textContent.includes("not in subnet")`, 10*time.Second)
	if got := b.text("#err-subnet"); got != "" {
		t.Fatalf("the subnet field still shows an error: %q", got)
	}

	// Topology: containers appear as they are attached, without a reload.
	b.run("open topology", chromedp.Navigate(url+"/#/topology"), chromedp.WaitVisible(chromedp.CSS("svg#topology")))
	if _, err := b.evalString(`window.__noReload = "still here"`); err != nil {
		t.Fatal(err)
	}
	c1 := c.Lab.AddContainer(h1, "c1")
	c2 := c.Lab.AddContainer(h2, "c2")
	c3 := c.Lab.AddContainer(h3, "c3")
	tmp := c.Lab.AddContainer(h3, "tmp")
	eps := map[string]model.EndpointView{}
	for _, ct := range []*lab.Container{c1, c2, c3, tmp} {
		ep := c.Connect("uinet", ct, nil)
		eps[ct.Name] = ep
		b.waitFor(ct.Name+" in the topology", fmt.Sprintf(`document.querySelector('svg#topology g.ep[data-endpoint="%s@uinet"][data-state="ready"]') !== null`, ct.Name), 10*time.Second)
		if !strings.HasPrefix(ep.IPv4.String(), "10.40.0.1") {
			t.Errorf("%s got %s, outside the ip-range 10.40.0.128/25", ct.Name, ep.IPv4)
		}
	}
	b.screenshot("topology")
	c.MustCtl("network", "disconnect", "uinet", "tmp")
	b.waitFor("tmp leaves the topology", `document.querySelector('svg#topology g.ep[data-endpoint="tmp@uinet"]') === null`, 10*time.Second)
	if got, _ := b.evalString(`window.__noReload`); got != "still here" {
		t.Fatalf("the topology page reloaded (marker %q)", got)
	}

	// On every host's OVS: the network's flows, by its cookie, and the
	// network page's footprint shows each host's count.
	var vniN uint32
	fmt.Sscan(vni, &vniN)
	sel := fmt.Sprintf("cookie=%#x/%#x", uint64(flows.NetworkCookie(vniN)), uint64(flows.NetworkMask))
	published := []model.PortMapping{{Proto: "tcp", Port: 80, HostPort: 8080}}
	if _, err := c.API.UpdateEndpoint(context.Background(), eps["c1"].ID, model.EndpointUpdate{Published: &published}); err != nil {
		t.Fatalf("publish c1's port: %v", err)
	}
	b.run("open the network page", chromedp.Navigate(url+"/#/networks/uinet"), chromedp.WaitVisible(chromedp.CSS("#footprint")))
	// OVS is read on every try: the agents may still be removing tmp's
	// flows when the page opens.
	for _, h := range c.Lab.Hosts {
		var out string
		cluster.Poll(t, 20*time.Second, h.Name+"'s footprint shows what its OVS holds", func() error {
			var err error
			if out, err = h.Ofctl("--no-stats", "dump-flows", "br-int", sel); err != nil {
				return err
			}
			count := len(strings.Split(strings.TrimSpace(out), "\n"))
			shown, err := b.evalString(fmt.Sprintf(`(document.querySelector('#footprint tr[data-host="%s"] td.flows') || {}).textContent`, h.Name))
			if err != nil {
				return err
			}
			if shown != fmt.Sprint(count) {
				return errorf("the page shows %q flows, OVS holds %d", shown, count)
			}
			return nil
		})
		if count := len(strings.Split(strings.TrimSpace(out), "\n")); count < 5 {
			t.Fatalf("%s holds %d flows of uinet:\n%s", h.Name, count, out)
		}
	}
	b.waitFor("endpoints listed", `document.querySelectorAll("#endpoints tr[data-endpoint]").length === 3`, 10*time.Second)
	b.waitFor("c1's published port listed", `document.querySelector('#endpoints tr[data-endpoint="c1"] td.ports').textContent === "8080→80/tcp"`, 10*time.Second)
	b.screenshot("network-page")

	// Hosts: three alive agents with their tunnel addresses.
	b.run("open hosts", chromedp.Navigate(url+"/#/hosts"), chromedp.WaitVisible(chromedp.CSS("#hosts-table")))
	for _, h := range c.Lab.Hosts {
		b.waitFor(h.Name+" alive", fmt.Sprintf(`(document.querySelector('#hosts-table tr[data-host="%s"]') || {}).textContent?.includes("alive%s")`, h.Name, h.TunnelIP), 10*time.Second)
	}
	b.screenshot("hosts")

	// Trace a reachable pair across the tunnel: delivered.
	c.CreateNetwork("isolated", "--internal")
	c4 := c.Lab.AddContainer(h2, "c4")
	c.Connect("isolated", c4, nil)
	b.run("open trace", chromedp.Navigate(url+"/#/trace"), chromedp.WaitVisible(chromedp.CSS("#trace-source")))
	b.waitFor("endpoints to pick", `document.querySelector('#trace-source option[value="c4@isolated"]') !== null`, 10*time.Second)
	trace := func(src, dst string) (kind, table, summary string) {
		t.Helper()
		b.run("pick "+src+" → "+dst,
			chromedp.SetValue(chromedp.CSS("#trace-source"), src),
			chromedp.SetValue(chromedp.CSS("#trace-dest"), dst),
			chromedp.Click(chromedp.CSS("#trace-run")))
		b.waitFor("verdict of "+src+" → "+dst, fmt.Sprintf(`(document.querySelector("#trace-verdict .packet") || {}).textContent?.includes(%q)`, src), 20*time.Second)
		kind, _ = b.evalString(`document.querySelector("#trace-verdict").dataset.kind`)
		table, _ = b.evalString(`document.querySelector("#trace-verdict").dataset.table`)
		return kind, table, b.text("#trace-summary")
	}
	// c1 reaches c3 for real; after that first packet the underlay
	// neighbour of h3 is resolved (before, the userspace datapath drops
	// the packet that resolves it, and the trace would rightly say so).
	cluster.WaitPing(t, c1, "10.40.0.130", 10*time.Second)
	kind, _, summary := trace("c1@uinet", "c3@uinet")
	if kind != model.TraceDelivered || !strings.Contains(summary, "delivered to c3 on h3") {
		t.Fatalf("c1 → c3: verdict %s: %s", kind, summary)
	}
	if hops, _ := b.evalString(`[...document.querySelectorAll(".hop")].map(e => e.dataset.host).join(",")`); hops != "h1,h3" {
		t.Fatalf("c1 → c3 crossed %q, want h1,h3", hops)
	}
	for _, table := range []string{"Classify", "SpoofGuard", "Forward", "TunnelIngress", "LocalDeliver"} {
		if ok, _ := b.evalBool(fmt.Sprintf(`document.querySelector('.step[data-table="%s"]') !== null`, table)); !ok {
			t.Errorf("the trace does not show table %s", table)
		}
	}
	b.screenshot("trace-delivered")

	// A pair in different networks: dropped, and the table named.
	kind, table, summary := trace("c4@isolated", "c1@uinet")
	if kind != model.TraceDropped || table != "LocalDeliver" || !strings.Contains(summary, "dropped in LocalDeliver (table 70)") ||
		!strings.Contains(summary, "different networks") {
		t.Fatalf("c4 → c1: verdict %s in %q: %s", kind, table, summary)
	}
	b.screenshot("trace-dropped")
	if c4.PingOnce("10.40.0.128", time.Second) {
		t.Fatal("c4 (isolated) reaches c1 (uinet), though the trace says dropped")
	}

	// ovsnetctl prints the same trace.
	out := c.MustCtl("trace", "c1@uinet", "c3@uinet")
	for _, want := range []string{"from c1@uinet (10.40.0.128 on h1)", "40 Forward", "70 LocalDeliver", "h3: in through tunnel from h1 (192.0.2.1), VNI " + vni,
		"Verdict: DELIVERED: delivered to c3 on h3"} {
		if !strings.Contains(out, want) {
			t.Errorf("ovsnetctl trace lacks %q:\n%s", want, out)
		}
	}
	t.Logf("ovsnetctl trace c1@uinet c3@uinet:\n%s", out)
}
