package main

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"strings"
)

// systemUpstreams is the -dns-upstream value that means "the host's own
// resolvers", what the shipped unit uses, so containers resolve outside
// names as the host does without the operator copying addresses.
const systemUpstreams = "system"

// hostResolvConf is where the host's resolvers are read from.
const hostResolvConf = "/etc/resolv.conf"

// systemResolvers reads the nameserver lines of a resolv.conf, as a
// -dns-upstream list. The agent runs in the host's network namespace, so
// a loopback resolver (systemd-resolved's 127.0.0.53) is reachable too.
func systemResolvers(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		// A scoped IPv6 address (fe80::1%eth0) cannot be asked from
		// another interface's point of view: left out.
		a, err := netip.ParseAddr(fields[1])
		if err != nil || a.Zone() != "" {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, 53).String())
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", errors.New(path + " names no nameserver: give -dns-upstream ADDR,... instead")
	}
	return strings.Join(out, ","), nil
}
