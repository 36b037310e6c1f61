package latency

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// newHTTPClient builds the client both modes use: TLS from --ca, --cert/--key
// and --insecure, and enough idle connections that every worker keeps its own
// connection alive between requests (a new TCP or TLS handshake per sample
// would be measured as model latency).
func newHTTPClient(o Options, conns int) (*http.Client, error) {
	tlsConfig := &tls.Config{InsecureSkipVerify: o.Insecure} //nolint:gosec // the user asked for it
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s holds no PEM certificate", o.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, fmt.Errorf("--cert and --key go together")
		}
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	if conns < 1 {
		conns = 1
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
	}
	// Redirects are followed as a browser would; a model endpoint rarely
	// redirects, and when it does the user sees the final answer.
	return &http.Client{Transport: transport}, nil
}

// requestHeaders gathers --header and the bearer token into one header set,
// cloned onto every request.
func requestHeaders(o Options) (http.Header, error) {
	h := http.Header{}
	for _, line := range o.Headers {
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("--header %q is not 'Name: value'", line)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
		token := strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", o.TokenFile)
		}
		h.Set("Authorization", "Bearer "+token)
	}
	return h, nil
}
