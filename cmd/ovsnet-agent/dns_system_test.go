package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSystemResolvers(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# generated\nsearch example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver fe80::1%eth0\nnameserver 127.0.0.53\noptions edns0\n")
	got, err := systemResolvers(conf)
	if want := "192.0.2.53:53,[2001:db8::53]:53,127.0.0.53:53"; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if _, err := parseAddrPorts(got, 53); err != nil {
		t.Fatalf("the list does not parse as -dns-upstream: %v", err)
	}
	write("search example.com\n")
	if _, err := systemResolvers(conf); err == nil {
		t.Fatal("no nameserver: want an error")
	}
	if _, err := systemResolvers(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("no file: want an error")
	}
}
