package latency

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/fixtures/modelserver"
)

// pki is a throw-away CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type pki struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "vigil test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p := pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = write("ca.pem", "CERTIFICATE", caDER)
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.server = tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	p.certFile = write("client.pem", "CERTIFICATE", clientDER)
	keyDER, _ := x509.MarshalECPrivateKey(clientKey)
	p.keyFile = write("client.key", "EC PRIVATE KEY", keyDER)
	return p
}

// TestProbeTLS: the fixture behind TLS that requires a client certificate;
// the probe trusts --ca, presents --cert/--key, and reports a TLS failure
// distinctly when either side's certificate is missing.
func TestProbeTLS(t *testing.T) {
	p := newPKI(t)
	srv := httptest.NewUnstartedServer(modelserver.New(modelserver.Config{Model: "simple", Latency: mustLatency(t, "fixed:1ms")}))
	// The refused handshakes are the point of two cases; keep them out of
	// the test log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tests := []struct {
		name string
		args []string
		code int
		line string
	}{
		{"CA and client certificate", []string{"--ca", p.caFile, "--cert", p.certFile, "--key", p.keyFile}, 0,
			`^MODEL_LATENCY OK - p95 [0-9.]+ ms over 5 requests to model simple \(V2 infer\)$`},
		{"insecure with client certificate", []string{"--insecure", "--cert", p.certFile, "--key", p.keyFile}, 0,
			`^MODEL_LATENCY OK - p95 [0-9.]+ ms over 5 requests`},
		{"server certificate not trusted", []string{"--cert", p.certFile, "--key", p.keyFile}, 2,
			`^MODEL_LATENCY CRITICAL - TLS failure: checking that model simple is ready: .*x509: certificate signed by unknown authority`},
		{"no client certificate", []string{"--ca", p.caFile}, 2,
			`^MODEL_LATENCY CRITICAL - TLS failure: checking that model simple is ready: .*tls: certificate required`},
		{"key without certificate", []string{"--key", p.keyFile}, 3,
			`^MODEL_LATENCY UNKNOWN - --cert and --key go together$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runCheck(t, v2Args(srv.URL, append([]string{"--samples", "5"}, tt.args...)...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			wantLine(t, out, tt.line)
		})
	}
}

// TestProbeBearerToken: --token-file sends the token; without it the
// server's 401 is reported.
func TestProbeBearerToken(t *testing.T) {
	url := startServer(t, "--token", "s3cret", "--latency", "fixed:1ms")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCheck(t, v2Args(url, "--samples", "3", "--token-file", tokenFile)...)
	if code != 0 {
		t.Fatalf("with token: exit %d\n%s", code, out)
	}
	out, code = runCheck(t, v2Args(url, "--samples", "3")...)
	if code != 2 {
		t.Fatalf("without token: exit %d\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY CRITICAL - access denied checking that model simple is ready \(HTTP 401\): check --header/--token-file$`)
}

func mustLatency(t *testing.T, spec string) modelserver.Distribution {
	t.Helper()
	d, err := modelserver.ParseDistribution(spec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
