package lab

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Loopback ports for the lab's listeners (Consul, controllers) are chosen
// below the kernel's ephemeral range and never handed out twice by one test
// binary. A port asked of the kernel (":0") comes from the ephemeral range:
// it is closed again before the process that will listen on it starts, and
// in that gap the next ":0" or any outgoing connection may take the same
// port — a Consul cluster of eight agents asks for 48 ports at once, and one
// clash leaves a server dead and the others without a leader.
var portPool struct {
	sync.Mutex
	given map[int]bool
}

// portRange is where lab ports come from: [low, high), under the ephemeral
// range read from /proc (32768 by default).
func portRange() (low, high int) {
	low, high = 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		if eph, err := strconv.Atoi(f[0]); err == nil && eph-low >= 2000 {
			high = eph
		}
	}
	return low, high
}

// FreePorts returns n distinct loopback ports that are free for both TCP and
// UDP now (Consul's serf and DNS listeners use both), outside the ephemeral
// range, and not given out before by this process.
func FreePorts(n int) ([]int, error) {
	portPool.Lock()
	defer portPool.Unlock()
	if portPool.given == nil {
		portPool.given = map[int]bool{}
	}
	low, high := portRange()
	var ports []int
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for try := 0; len(ports) < n; try++ {
		if try > 1000 {
			return nil, errors.New("no free loopback ports after 1000 tries")
		}
		port := low + rand.IntN(high-low)
		if portPool.given[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		closers = append(closers, ln)
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		closers = append(closers, pc)
		portPool.given[port] = true
		ports = append(ports, port)
	}
	return ports, nil
}
