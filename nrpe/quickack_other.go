//go:build !linux

package nrpe

import "net"

// SetQuickAck does nothing outside Linux.
func SetQuickAck(net.Conn) {}
