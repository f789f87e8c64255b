//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// With a token configured, the UI asks for it once, as soon as it reads
// the cluster (reads need the token too), says so when it is wrong, and
// then never asks again: not for the live stream, not for changes, not
// after a reload. Its strict CSP holds.
func TestWebUIAsksForTokenOnce(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1, Token: "s3cret"})
	base := c.Controllers[0].URL

	b := newBrowser(t)
	dialogOpen := `document.querySelector("#token-dialog").open`
	b.run("open the UI", chromedp.Navigate(base+"/#/networks"))
	b.waitFor("token dialog", dialogOpen, 10*time.Second)
	b.screenshot("token-dialog")
	b.run("wrong token", chromedp.SendKeys(chromedp.CSS("#token-input"), "nope"), chromedp.Click(chromedp.CSS("#token-submit")))
	b.waitFor("refused", dialogOpen+` && document.querySelector("#token-message").textContent.includes("refused")`, 10*time.Second)
	b.run("right token", chromedp.SendKeys(chromedp.CSS("#token-input"), "s3cret"), chromedp.Click(chromedp.CSS("#token-submit")))
	b.waitFor("dialog closed", "!"+dialogOpen, 10*time.Second)
	b.waitFor("networks listed", `document.querySelector("#networks-table tbody") !== null && document.querySelector("#networks-table tbody").textContent.includes("No networks yet")`, 10*time.Second)
	b.waitFor("live", `document.querySelector("#live").dataset.state === "live"`, 10*time.Second)

	create := func(name string) {
		t.Helper()
		b.run("create "+name, chromedp.Navigate(base+"/#/networks"), chromedp.WaitVisible(chromedp.CSS("#create-toggle")),
			chromedp.Click(chromedp.CSS("#create-toggle")), chromedp.SendKeys(chromedp.CSS("#f-name"), name),
			chromedp.Click(chromedp.CSS("#create-submit")))
		b.waitFor(name+" created", `location.hash === "#/networks/`+name+`"`, 15*time.Second)
		if open, _ := b.evalBool(dialogOpen); open {
			t.Fatal("the UI asked for the token a second time")
		}
		if _, err := c.API.InspectNetwork(context.Background(), name); err != nil {
			t.Fatalf("%s not created: %v", name, err)
		}
	}
	create("tok1")
	// The live stream carries the token: the new network shows up without
	// a reload, and a reload asks nothing.
	b.run("reload", chromedp.Navigate(base+"/#/networks"), chromedp.Reload())
	b.waitFor("tok1 listed after reload", `document.querySelector('#networks-table tr[data-network="tok1"]') !== null`, 15*time.Second)
	if open, _ := b.evalBool(dialogOpen); open {
		t.Fatal("the UI asked for the token after a reload")
	}
	create("tok2")
	checkCSPInBrowser(t, b)

	// The REST API holds the same line: no token, no read and no write.
	code, body, err := cluster.HTTP("POST", base+"/networks/create", `{"Name":"tok3"}`)
	if err != nil || code != 401 || !strings.Contains(body, "requires a token") {
		t.Fatalf("write without token: %d %s %v", code, body, err)
	}
	code, body, err = cluster.HTTP("GET", base+"/ovsnet/v1/topology", "")
	if err != nil || code != 401 {
		t.Fatalf("read without token: %d %s %v", code, body, err)
	}
}
