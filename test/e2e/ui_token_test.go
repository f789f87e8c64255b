//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ovsnet/ovsnet/test/cluster"
)

// With a token configured, the UI asks for it at the first change, says so
// when it is wrong, and then never asks again; reads never need it.
func TestWebUIAsksForTokenOnce(t *testing.T) {
	c := cluster.New(t, cluster.Options{Hosts: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c.Lab.Start("controller-token", "", nil, c.Bins["ovsnet-controller"], "-listen", addr, "-consul", c.Consul.Addr,
		"-prefix", c.Prefix, "-id", "controller-token", "-token", "s3cret")
	url := "http://" + addr
	cluster.Poll(t, 20*time.Second, "token controller up", func() error {
		code, _, err := cluster.HTTP("GET", url+"/_ping", "")
		if err != nil || code != 200 {
			return fmt.Errorf("ping: %d %v", code, err)
		}
		return nil
	})

	b := newBrowser(t)
	create := func(name string) {
		t.Helper()
		b.run("create "+name, chromedp.Navigate(url+"/#/networks"), chromedp.WaitVisible(chromedp.CSS("#create-toggle")),
			chromedp.Click(chromedp.CSS("#create-toggle")), chromedp.SendKeys(chromedp.CSS("#f-name"), name),
			chromedp.Click(chromedp.CSS("#create-submit")))
	}
	dialogOpen := `document.querySelector("#token-dialog").open`

	create("tok1")
	b.waitFor("token dialog", dialogOpen, 10*time.Second)
	b.screenshot("token-dialog")
	b.run("wrong token", chromedp.SendKeys(chromedp.CSS("#token-input"), "nope"), chromedp.Click(chromedp.CSS("#token-submit")))
	b.waitFor("refused", dialogOpen+` && document.querySelector("#token-message").textContent.includes("refused")`, 10*time.Second)
	b.run("right token", chromedp.SendKeys(chromedp.CSS("#token-input"), "s3cret"),
		chromedp.Click(chromedp.CSS("#token-submit")))
	b.waitFor("tok1 created", `location.hash === "#/networks/tok1"`, 15*time.Second)
	if _, err := c.API.InspectNetwork(context.Background(), "tok1"); err != nil {
		t.Fatalf("tok1 not created: %v", err)
	}

	// Asked once: the next change goes through without the dialog.
	create("tok2")
	b.waitFor("tok2 created", `location.hash === "#/networks/tok2"`, 15*time.Second)
	if open, _ := b.evalBool(dialogOpen); open {
		t.Fatal("the UI asked for the token a second time")
	}
	if _, err := c.API.InspectNetwork(context.Background(), "tok2"); err != nil {
		t.Fatalf("tok2 not created: %v", err)
	}
	// The REST API holds the same line: no token, no write.
	code, body, err := cluster.HTTP("POST", url+"/networks/create", `{"Name":"tok3"}`)
	if err != nil || code != 401 || !strings.Contains(body, "requires a token") {
		t.Fatalf("write without token: %d %s %v", code, body, err)
	}
}
