package kafkalag

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// connectLog remembers the last failed connection attempt, so that a request
// that ran out of time can say why ("connection refused") rather than only
// "context deadline exceeded".
type connectLog struct {
	mu        sync.Mutex
	lastErr   error
	lastAddr  string
	dialed    bool // some broker accepted a TCP (and TLS) connection
	connected bool // some broker accepted a connection and finished its handshake
}

// dial is the client's dialer: plain TCP, then TLS when configured, noting
// that the TCP part worked so that a later failure reads as a handshake or
// authentication problem rather than an unreachable broker.
func (c *connectLog) dial(tlsConfig *tls.Config) func(ctx context.Context, network, host string) (net.Conn, error) {
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		conn, err := d.DialContext(ctx, network, host)
		if err != nil {
			return nil, err
		}
		if tlsConfig == nil {
			c.markDialed()
			return conn, nil
		}
		cfg := tlsConfig.Clone()
		if cfg.ServerName == "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				cfg.ServerName = h
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", host, err)
		}
		c.markDialed()
		return tc, nil
	}
}

func (c *connectLog) markDialed() {
	c.mu.Lock()
	c.dialed = true
	c.mu.Unlock()
}

func (c *connectLog) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.lastErr = err
		c.lastAddr = net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port))
		return
	}
	c.connected = true
}

// connectState is what the connection attempts showed.
type connectState struct {
	addr      string // the broker of the last failed attempt
	lastErr   error  // why it failed
	dialed    bool   // some broker accepted a TCP (and TLS) connection
	connected bool   // some broker finished the Kafka handshake
}

func (c *connectLog) snapshot() connectState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return connectState{addr: c.lastAddr, lastErr: c.lastErr, dialed: c.dialed, connected: c.connected}
}

// clientOptions builds the franz-go options for the connection flags.
func (o *Options) clientOptions(log *connectLog) ([]kgo.Opt, error) {
	var brokers []string
	for _, b := range o.Brokers {
		for _, part := range strings.Split(b, ",") {
			if part = strings.TrimSpace(part); part != "" {
				brokers = append(brokers, part)
			}
		}
	}
	if len(brokers) == 0 {
		return nil, errors.New("no --brokers given")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID(o.ClientID),
		kgo.WithHooks(log),
		// Every request is bounded by the check's context; retries within
		// it are fine.
		kgo.RequestRetries(3),
	}
	if o.Debug != nil {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(o.Debug, kgo.LogLevelDebug, nil)))
	}
	tlsConfig, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.Dialer(log.dial(tlsConfig)))
	mech, err := o.saslMechanism()
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func (o *Options) tlsConfig() (*tls.Config, error) {
	if !o.TLS && o.TLSCAFile == "" && o.TLSCertFile == "" && o.TLSServerName == "" && !o.TLSInsecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSServerName, InsecureSkipVerify: o.TLSInsecure}
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", o.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	if o.TLSCertFile != "" {
		pair, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func (o *Options) saslMechanism() (sasl.Mechanism, error) {
	if o.SASLMechanism == "" {
		if o.SASLUser != "" || o.SASLPasswordFile != "" || o.SASLPasswordEnv != "" {
			return nil, errors.New("--sasl-user/--sasl-password-* given without --sasl-mechanism")
		}
		return nil, nil
	}
	if o.SASLUser == "" {
		return nil, errors.New("--sasl-mechanism needs --sasl-user")
	}
	password, err := o.saslPassword()
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(o.SASLMechanism) {
	case "PLAIN":
		return plain.Auth{User: o.SASLUser, Pass: password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: o.SASLUser, Pass: password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: o.SASLUser, Pass: password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("--sasl-mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", o.SASLMechanism)
}

// saslPassword reads the secret from a file or the environment: a password on
// the command line would show in ps and in the monitoring configuration.
func (o *Options) saslPassword() (string, error) {
	switch {
	case o.SASLPasswordFile != "" && o.SASLPasswordEnv != "":
		return "", errors.New("give one of --sasl-password-file and --sasl-password-env")
	case o.SASLPasswordFile != "":
		b, err := os.ReadFile(o.SASLPasswordFile)
		if err != nil {
			return "", fmt.Errorf("reading --sasl-password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	case o.SASLPasswordEnv != "":
		v, ok := os.LookupEnv(o.SASLPasswordEnv)
		if !ok {
			return "", fmt.Errorf("--sasl-password-env: %s is not set", o.SASLPasswordEnv)
		}
		return v, nil
	}
	return "", errors.New("--sasl-mechanism needs --sasl-password-file or --sasl-password-env")
}
