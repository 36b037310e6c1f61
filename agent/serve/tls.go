package serve

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vigil-monitoring/vigil/agent/config"
	"github.com/vigil-monitoring/vigil/nrpe"
)

// Names of the key pair generated in vigil_tls_dir when no ssl_cert_file is
// configured.
const (
	generatedCert = "vigil-agent.crt"
	generatedKey  = "vigil-agent.key"
)

// tlsConfig builds the server's TLS settings: the configured certificate,
// or a self-signed one generated at first start in vigil_tls_dir (0600) and
// kept; client certificates asked for or required per ssl_client_certs;
// versions from ssl_version (default TLSv1.2+, which every check_nrpe 4.x
// speaks). It returns a note for the log when it generated a certificate.
func tlsConfig(c *config.Config) (*tls.Config, string, error) {
	var cert tls.Certificate
	var note string
	if c.SSLCertFile != "" {
		var err error
		cert, err = tls.LoadX509KeyPair(c.SSLCertFile, c.SSLKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("loading ssl_cert_file/ssl_privatekey_file: %w", err)
		}
	} else {
		if err := os.MkdirAll(c.TLSDir, 0o700); err != nil {
			return nil, "", fmt.Errorf("creating vigil_tls_dir: %w", err)
		}
		host, _ := os.Hostname()
		certFile, keyFile := filepath.Join(c.TLSDir, generatedCert), filepath.Join(c.TLSDir, generatedKey)
		var made bool
		var err error
		cert, made, err = nrpe.EnsureSelfSigned(certFile, keyFile, host)
		if err != nil {
			return nil, "", err
		}
		if made {
			note = "generated a self-signed certificate " + certFile
		}
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if c.SSLVersion != "" {
		min, max, err := nrpe.ParseTLSVersion(c.SSLVersion)
		if err != nil {
			return nil, "", err
		}
		tc.MinVersion, tc.MaxVersion = min, max
	}
	if c.SSLClientCerts != config.ClientCertsNone {
		if c.SSLCACertFile == "" {
			return nil, "", fmt.Errorf("ssl_client_certs=%d needs ssl_cacert_file", c.SSLClientCerts)
		}
		pool, err := nrpe.LoadCertPool(c.SSLCACertFile)
		if err != nil {
			return nil, "", err
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if c.SSLClientCerts == config.ClientCertsRequire {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, note, nil
}
