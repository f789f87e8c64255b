package lab

import (
	"fmt"
	"net"
)

// ListenUDPIn opens a UDP socket bound to addr inside a namespace (a name
// such as Outside.Netns or a path), for servers a test runs itself, e.g. an
// upstream DNS resolver in the outside namespace. The socket stays in that
// namespace wherever it is used; the caller closes it.
func ListenUDPIn(netns, addr string) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := inNetns(netnsPath(netns), func() error {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return err
		}
		c, err = net.ListenUDP("udp", ua)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen udp %s in %s: %w", addr, netns, err)
	}
	return c, nil
}

// DialUDPIn opens a UDP socket inside a namespace (a container's, a
// host's) connected to addr, so a test can talk to a server as a process in
// that namespace would, without a client program there.
func DialUDPIn(netns, addr string) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := inNetns(netnsPath(netns), func() error {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return err
		}
		c, err = net.DialUDP("udp", nil, ua)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial udp %s in %s: %w", addr, netns, err)
	}
	return c, nil
}
