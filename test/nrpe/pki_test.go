package nrpe

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is a test CA with a server and a client certificate, as files the
// daemons and clients (running as nagios or root) can read.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherCert, otherKey                                  string // signed by another CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := workDir(t)
	caCert, caKey := makeCert(t, nil, nil, "vigil test CA", true)
	other, otherKey := makeCert(t, nil, nil, "other CA", true)
	p := &pki{caFile: filepath.Join(dir, "ca.crt")}
	writePEM(t, p.caFile, "CERTIFICATE", caCert.Raw)
	sc, sk := makeCert(t, caCert, caKey, "127.0.0.1", false)
	cc, ck := makeCert(t, caCert, caKey, "nagios-client", false)
	oc, ok := makeCert(t, other, otherKey, "intruder", false)
	p.serverCert, p.serverKey = writePair(t, dir, "server", sc, sk)
	p.clientCert, p.clientKey = writePair(t, dir, "client", cc, ck)
	p.otherCert, p.otherKey = writePair(t, dir, "other", oc, ok)
	return p
}

func makeCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func writePair(t *testing.T, dir, name string, c *x509.Certificate, k *ecdsa.PrivateKey) (string, string) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, cf, "CERTIFICATE", c.Raw)
	writePEM(t, kf, "EC PRIVATE KEY", der)
	return cf, kf
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}
