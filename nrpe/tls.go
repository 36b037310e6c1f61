package nrpe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// ParseTLSVersion reads an nrpe.cfg ssl_version / check_nrpe -S value
// ("TLSv1.2+", "TLSv1.3", "TLSv1+", "SSLv3+") into the lowest and highest
// TLS versions it allows. Without a trailing "+" only that version is
// allowed. Go has no SSLv3: "SSLv3" and "SSLv3+" mean TLS 1.0 and up.
func ParseTLSVersion(text string) (min, max uint16, err error) {
	s := strings.TrimSpace(text)
	plus := strings.HasSuffix(s, "+")
	s = strings.TrimSuffix(s, "+")
	switch strings.ToUpper(s) {
	case "SSLV2", "SSLV3", "TLSV1", "TLSV1.0":
		min = tls.VersionTLS10
	case "TLSV1.1":
		min = tls.VersionTLS11
	case "TLSV1.2":
		min = tls.VersionTLS12
	case "TLSV1.3":
		min = tls.VersionTLS13
	default:
		return 0, 0, fmt.Errorf("unknown TLS version %q (want TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, optionally followed by +)", text)
	}
	max = min
	if plus || strings.HasPrefix(strings.ToUpper(s), "SSL") {
		max = tls.VersionTLS13
	}
	return min, max, nil
}

// LoadCertPool reads PEM certificates from a file.
func LoadCertPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("no PEM certificate in %s", file)
	}
	return pool, nil
}

// EnsureSelfSigned returns the key pair at certFile/keyFile, generating a
// self-signed ECDSA P-256 certificate there first if neither exists. Both
// files are written 0600 and never overwritten: the certificate stays the
// same across restarts so that clients pinning it keep working.
func EnsureSelfSigned(certFile, keyFile, hostname string) (tls.Certificate, bool, error) {
	_, errC := os.Stat(certFile)
	_, errK := os.Stat(keyFile)
	if errC == nil && errK == nil {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return c, false, fmt.Errorf("loading generated key pair: %w", err)
		}
		return c, false, nil
	}
	if errC == nil || errK == nil {
		return tls.Certificate{}, false, fmt.Errorf("only one of %s and %s exists: remove it or provide both", certFile, keyFile)
	}
	if !errors.Is(errC, os.ErrNotExist) {
		return tls.Certificate{}, false, errC
	}
	certPEM, keyPEM, err := SelfSigned(hostname, 10*365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, false, err
	}
	if err := writeExclusive(keyFile, keyPEM); err != nil {
		return tls.Certificate{}, false, err
	}
	if err := writeExclusive(certFile, certPEM); err != nil {
		return tls.Certificate{}, false, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	return c, true, err
}

func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// SelfSigned makes a PEM certificate and key for a server named hostname
// (also valid for 127.0.0.1 and ::1).
func SelfSigned(hostname string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"vigil-agent"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{hostname, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
