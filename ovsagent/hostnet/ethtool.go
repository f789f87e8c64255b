package hostnet

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ethtoolSetTxCsum is ETHTOOL_STXCSUM from <linux/ethtool.h>.
const ethtoolSetTxCsum = 0x17

type ethtoolValue struct{ cmd, data uint32 }

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

// disableTxChecksum turns TX checksum offload off on ifname inside ns, like
// `ethtool -K ifname tx off`. It is one legacy ethtool ioctl on a socket
// opened in the container's namespace: a feature-string round trip through
// an ethtool library costs ~10 ms per endpoint, this a few microseconds.
func disableTxChecksum(ns netns.NsHandle, ifname string) error {
	fd, err := socketIn(ns)
	if err != nil {
		return fmt.Errorf("socket in container namespace: %w", err)
	}
	defer unix.Close(fd)
	v := ethtoolValue{cmd: ethtoolSetTxCsum}
	var ifr ifreqData
	copy(ifr.name[:], ifname)
	ifr.data = uintptr(unsafe.Pointer(&v))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&v)
	if errno != 0 {
		return fmt.Errorf("turn off tx checksum offload on %s: %w", ifname, errno)
	}
	return nil
}

// socketIn opens a datagram socket in ns; a socket keeps its namespace for
// life, so only its creation needs the thread switched.
func socketIn(ns netns.NsHandle) (int, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return -1, err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return -1, err
	}
	fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err := netns.Set(orig); err != nil {
		// This thread is in the wrong namespace now: it stays locked, so
		// it ends with this goroutine instead of running others.
		if serr == nil {
			unix.Close(fd)
		}
		runtime.Goexit()
	}
	runtime.UnlockOSThread()
	return fd, serr
}
