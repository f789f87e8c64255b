package flaghelp

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"
)

func testFlags() (*flag.FlagSet, *Help) {
	fs := flag.NewFlagSet("prog", flag.ContinueOnError)
	fs.String("addr", "", "the address")
	fs.String("consul", "127.0.0.1:8500", "Consul")
	fs.Duration("wait", 2*time.Second, "how long")
	fs.Bool("on", false, "switch")
	fs.String("new", "", "a flag no group has yet")
	h := &Help{
		Name: "prog", Purpose: "does things", Usage: "prog -addr ADDR [flags]",
		Groups: []Group{
			{Title: "Where", Note: "Two lines\nof note.", Flags: []string{"addr", "consul"}},
			{Title: "How", Flags: []string{"wait", "on", "gone"}},
		},
		Required:    []string{"addr"},
		Env:         map[string]string{"consul": "PROG_CONSUL"},
		Environment: []string{"PROG_TOKEN   a token"},
		Footer:      "More: docs.",
	}
	return fs, h
}

func TestPrint(t *testing.T) {
	fs, h := testFlags()
	h.Setup(fs)
	var b bytes.Buffer
	h.Print(&b, fs)
	want := `prog: does things

Usage:
  prog -addr ADDR [flags]

Where:
  Two lines
  of note.
  -addr string   [required]
        the address
  -consul string   [env $PROG_CONSUL]
        Consul (default "127.0.0.1:8500")

How:
  -wait duration
        how long (default 2s)
  -on
        switch

Other flags:
  -new string
        a flag no group has yet

Information:
  -h, -help
        print this help and exit
  -version
        print the version and exit

Environment:
  PROG_TOKEN   a token

More: docs.
`
	if b.String() != want {
		t.Errorf("help:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCheckAndMissing(t *testing.T) {
	fs, h := testFlags()
	h.Setup(fs)
	got := strings.Join(h.Check(fs), "\n")
	want := "-new is in no group of the help table\ngroup \"How\" lists -gone, which is not a flag"
	if got != want {
		t.Errorf("Check:\n%s\nwant:\n%s", got, want)
	}
	if m := h.Missing(fs); len(m) != 1 || m[0] != "-addr" {
		t.Errorf("Missing = %q", m)
	}
	_ = fs.Parse([]string{"-addr", "x"})
	if m := h.Missing(fs); len(m) != 0 {
		t.Errorf("Missing after -addr = %q", m)
	}
}

func TestEnvFallback(t *testing.T) {
	t.Setenv("PROG_CONSUL", "unix:///run/consul.sock")
	fs, h := testFlags()
	h.Setup(fs)
	_ = fs.Parse(nil)
	if v := fs.Lookup("consul").Value.String(); v != "unix:///run/consul.sock" {
		t.Errorf("consul = %q, want the environment's", v)
	}
	if d := fs.Lookup("consul").DefValue; d != "127.0.0.1:8500" {
		t.Errorf("the help's default became %q", d)
	}
	fs, h = testFlags()
	h.Setup(fs)
	_ = fs.Parse([]string{"-consul", "10.0.0.1:8500"})
	if v := fs.Lookup("consul").Value.String(); v != "10.0.0.1:8500" {
		t.Errorf("the command line lost to the environment: %q", v)
	}
}
