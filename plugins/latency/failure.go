package latency

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// failureKind sorts a failed request by what went wrong; the kinds decide
// the state and group the failures in the output.
type failureKind int

const (
	failOther failureKind = iota
	failRefused
	failDNS
	failTLS
	failTimeout
	failStatus  // unexpected HTTP status
	failNotJSON // the answer is not JSON
	failField   // a --json-field check failed
)

func (k failureKind) String() string {
	switch k {
	case failRefused:
		return "connection refused"
	case failDNS:
		return "DNS failure"
	case failTLS:
		return "TLS failure"
	case failTimeout:
		return "timeout"
	case failStatus:
		return "unexpected HTTP status"
	case failNotJSON:
		return "answer is not JSON"
	case failField:
		return "JSON field check failed"
	}
	return "request failed"
}

// state is the plugin state a failure of this kind calls for when nothing
// succeeded. A name that does not resolve is a configuration problem
// (UNKNOWN, as check_tcp says for an invalid host); everything else means
// users cannot get answers.
func (k failureKind) state(ev evaluation) plugin.Status {
	switch k {
	case failRefused:
		return ev.refused
	case failTimeout:
		return ev.timeout
	case failDNS:
		return plugin.Unknown
	}
	return plugin.Critical
}

// requestError is a failed request with its kind.
type requestError struct {
	kind failureKind
	err  error
}

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

func failf(kind failureKind, format string, args ...any) *requestError {
	return &requestError{kind: kind, err: fmt.Errorf(format, args...)}
}

// classify names the kind of a transport error from net/http.
func classify(err error) failureKind {
	var re *requestError
	if errors.As(err, &re) {
		return re.kind
	}
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return failTimeout
	case errors.As(err, &dnsErr):
		return failDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert):
		return failTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return failTimeout
	case strings.Contains(err.Error(), "tls: "):
		return failTLS
	}
	return failOther
}
