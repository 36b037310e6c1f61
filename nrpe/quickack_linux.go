package nrpe

import (
	"net"
	"syscall"
)

// SetQuickAck turns on TCP_QUICKACK on a TCP connection. Linux clears the
// flag by itself after a while, so it is set again around each exchange that
// matters. check_nrpe sets no TCP_NODELAY: under TLS 1.3 its request waits
// behind its own un-ACKed Finished until the server's delayed ACK (~40 ms);
// ACKing at once removes that stall. Errors are ignored: it is an
// optimisation only.
func SetQuickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
