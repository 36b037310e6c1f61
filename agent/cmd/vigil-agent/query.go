package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/vigil-monitoring/vigil/nrpe"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// queryMain is a check_nrpe-compatible client: the same flags for what it
// implements, the same output and exit codes, the same messages for the
// common failures.
func queryMain(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("query", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.StringP("host", "H", "", "daemon address")
	port := fs.IntP("port", "p", 5666, "daemon port")
	command := fs.StringP("command", "c", "", "command name (none: _NRPE_CHECK, the daemon's version)")
	noSSL := fs.BoolP("no-ssl", "n", false, "plaintext")
	v2 := fs.BoolP("v2-packets-only", "2", false, "send v2 packets only")
	v3 := fs.BoolP("v3-packets-only", "3", false, "send v3 packets only")
	timeoutText := fs.StringP("timeout", "t", "10", "seconds[:STATE] before giving up (default state CRITICAL)")
	unknownOnTimeout := fs.BoolP("unknown-timeout", "u", false, "timeouts and connection errors are UNKNOWN")
	certFile := fs.StringP("client-cert", "C", "", "client certificate (PEM)")
	keyFile := fs.StringP("key-file", "K", "", "client key (PEM)")
	caFile := fs.StringP("ca-cert-file", "A", "", "CA to verify the daemon's certificate chain (host name not checked, as check_nrpe)")
	sslVersion := fs.StringP("ssl-version", "S", "TLSv1.2+", "TLS versions, e.g. TLSv1.2, TLSv1.3, TLSv1.2+")
	fs.BoolP("args", "a", false, "arguments: everything after -a")
	ipv4 := fs.BoolP("ipv4", "4", false, "connect over IPv4 only")
	ipv6 := fs.BoolP("ipv6", "6", false, "connect over IPv6 only")
	bind := fs.StringP("bind", "b", "", "local address to connect from")
	fs.StringP("use-adh", "d", "", "accepted for check_nrpe compatibility; Go has no anonymous DH, the daemon's certificate is used")
	fs.StringP("cipher-list", "L", "", "accepted for check_nrpe compatibility; Go chooses its TLS cipher suites itself")
	// -a takes the rest of the line, as in check_nrpe.
	var cmdArgs []string
	for i, a := range args {
		if a == "-a" || a == "--args" {
			cmdArgs = args[i+1:]
			args = args[:i]
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return 3
	}
	if *host == "" {
		fmt.Fprintln(stdout, "CHECK_NRPE: no host given (-H)")
		return 3
	}
	timeout, timeoutState, err := parseTimeout(*timeoutText)
	if err != nil {
		fmt.Fprintf(stdout, "CHECK_NRPE: %v\n", err)
		return 3
	}
	errState := plugin.Critical
	if *unknownOnTimeout {
		errState, timeoutState = plugin.Unknown, plugin.Unknown
	}
	if (*certFile == "") != (*keyFile == "") {
		fmt.Fprintln(stdout, "Error: the client certificate and the private key must both be given or neither")
		return 3
	}
	client := &nrpe.Client{Addr: net.JoinHostPort(*host, strconv.Itoa(*port)), Dialer: &net.Dialer{}}
	switch {
	case *ipv4:
		client.Network = "tcp4"
	case *ipv6:
		client.Network = "tcp6"
	}
	if *bind != "" {
		ip := net.ParseIP(*bind)
		if ip == nil {
			fmt.Fprintf(stdout, "CHECK_NRPE: -b %q is not an IP address\n", *bind)
			return 3
		}
		client.Dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	switch {
	case *v2:
		client.Version = nrpe.Version2
	case *v3:
		client.Version = nrpe.Version3
	}
	if !*noSSL {
		tc, err := clientTLS(*sslVersion, *certFile, *keyFile, *caFile)
		if err != nil {
			fmt.Fprintf(stdout, "CHECK_NRPE: %v\n", err)
			return 3
		}
		client.TLS = tc
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := client.Query(ctx, nrpe.QueryText(*command, cmdArgs...))
	if err != nil {
		msg, code := describe(err, ctx, *host, *port, timeout, timeoutState, errState)
		fmt.Fprintln(stdout, msg)
		return code
	}
	fmt.Fprintln(stdout, res.Output)
	if res.Code < 0 || res.Code > 3 {
		return 3
	}
	return res.Code
}

func parseTimeout(text string) (time.Duration, plugin.Status, error) {
	secs, state, hasState := strings.Cut(text, ":")
	n, err := strconv.Atoi(secs)
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("invalid timeout %q", text)
	}
	st := plugin.Critical
	if hasState {
		if st, err = plugin.ParseStatus(state); err != nil {
			return 0, 0, err
		}
	}
	return time.Duration(n) * time.Second, st, nil
}

// describe turns a client error into check_nrpe's message and exit code.
func describe(err error, ctx context.Context, host string, port int, timeout time.Duration, timeoutState, errState plugin.Status) (string, int) {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("CHECK_NRPE STATE %s: Socket timeout after %d seconds.", timeoutState, int(timeout/time.Second)), int(timeoutState)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connect to host %s port %d: Connection refused", host, port), int(errState)
	case errors.Is(err, syscall.ECONNRESET) && strings.Contains(err.Error(), "TLS handshake"):
		return fmt.Sprintf("CHECK_NRPE: Error - Could not connect to %s: Connection reset by peer", host), int(errState)
	case strings.Contains(err.Error(), "TLS handshake"):
		return fmt.Sprintf("CHECK_NRPE: (ssl_err != 5) Error - Could not complete SSL handshake with %s: %v", host, errors.Unwrap(err)), int(errState)
	case errors.Is(err, nrpe.ErrCRC):
		return "CHECK_NRPE: Response packet had invalid CRC32.", 3
	case errors.Is(err, nrpe.ErrVersion):
		return "CHECK_NRPE: Invalid packet version received from server.", 3
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "CHECK_NRPE: Receive header underflow - only 0 bytes received (4 expected).", 3
	}
	return fmt.Sprintf("CHECK_NRPE: Error - %v", err), int(errState)
}

// clientTLS mirrors check_nrpe's TLS: no verification of the daemon unless
// -A names a CA, and then the chain only, not the host name.
func clientTLS(version, certFile, keyFile, caFile string) (*tls.Config, error) {
	min, max, err := nrpe.ParseTLSVersion(version)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: min, MaxVersion: max, InsecureSkipVerify: true}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if caFile != "" {
		pool, err := nrpe.LoadCertPool(caFile)
		if err != nil {
			return nil, err
		}
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("daemon sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	}
	return tc, nil
}
