package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// pki is a CA with a server and a client certificate, written as PEM files.
type pki struct {
	dir                            string
	caFile, serverCert, serverKey  string
	clientCert, clientKey, otherCA string
	pool                           *x509.CertPool
	server                         tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	ca, caKey := makeCert(t, nil, nil, "vigil test CA", true, nil, nil)
	p.caFile = writePEM(t, p.dir, "ca.pem", "CERTIFICATE", ca.Raw)
	other, _ := makeCert(t, nil, nil, "some other CA", true, nil, nil)
	p.otherCA = writePEM(t, p.dir, "other-ca.pem", "CERTIFICATE", other.Raw)
	srv, srvKey := makeCert(t, ca, caKey, "kafka.test", false, []string{"kafka.test"}, []net.IP{net.ParseIP("127.0.0.1")})
	p.serverCert = writePEM(t, p.dir, "server.pem", "CERTIFICATE", srv.Raw)
	p.serverKey = writeKey(t, p.dir, "server-key.pem", srvKey)
	cli, cliKey := makeCert(t, ca, caKey, "monitoring", false, nil, nil)
	p.clientCert = writePEM(t, p.dir, "client.pem", "CERTIFICATE", cli.Raw)
	p.clientKey = writeKey(t, p.dir, "client-key.pem", cliKey)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	var err error
	if p.server, err = tls.LoadX509KeyPair(p.serverCert, p.serverKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func makeCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool, dns []string, ips []net.IP) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: dns, IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeKey(t *testing.T, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "EC PRIVATE KEY", der)
}

// TestTLS: a kfake cluster that requires TLS with client certificates.
func TestTLS(t *testing.T) {
	p := newPKI(t)
	c := startCluster(t, kfake.TLS(&tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{p.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool,
	}))
	clientCert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	cl := c.producer(t, kgo.DialTLSConfig(&tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{clientCert}}))
	createTopic(t, cl, "secure", 2)
	produce(t, cl, "secure", map[int32]int{0: 7, 1: 4})
	commitDirect(t, cl, "tlsgroup", "secure", map[int32]int64{0: 2, 1: 4})

	brokers := strings.Join(c.addrs, ",")
	common := []string{"-B", brokers, "-g", "tlsgroup", "-t", "5", "--allow-empty", "--no-time-lag"}
	tests := []struct {
		name  string
		args  []string
		code  int
		first string
	}{
		{"ca and client cert", []string{"--tls-ca", p.caFile, "--tls-cert", p.clientCert, "--tls-key", p.clientKey}, 0,
			"KAFKA_LAG OK - 1 group, total lag 5, most behind group tlsgroup topic secure lag 5 | tlsgroup_lag=5;;;0 tlsgroup_members=0;;;0 tlsgroup_max_partition_lag=5;;;0 tlsgroup/secure_lag=5;;;0"},
		{"server name", []string{"--tls-ca", p.caFile, "--tls-cert", p.clientCert, "--tls-key", p.clientKey, "--tls-server-name", "kafka.test"}, 0,
			"KAFKA_LAG OK - 1 group, total lag 5, most behind group tlsgroup topic secure lag 5 | tlsgroup_lag=5;;;0 tlsgroup_members=0;;;0 tlsgroup_max_partition_lag=5;;;0 tlsgroup/secure_lag=5;;;0"},
		{"wrong server name", []string{"--tls-ca", p.caFile, "--tls-cert", p.clientCert, "--tls-key", p.clientKey, "--tls-server-name", "other.test"}, 3,
			"x509: certificate is valid for kafka.test, not other.test"},
		{"unknown CA", []string{"--tls-ca", p.otherCA, "--tls-cert", p.clientCert, "--tls-key", p.clientKey}, 3,
			"x509: certificate signed by unknown authority"},
		{"no client cert", []string{"--tls-ca", p.caFile}, 3, "certificate required"},
		{"plaintext to a TLS port", nil, 3, "is TLS missing?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, took := runBinary(t, nil, append(append([]string{}, common...), tt.args...)...)
			t.Logf("%s(%v)", out, took)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if tt.code == 0 && firstLine(out) != tt.first || tt.code != 0 && !strings.Contains(firstLine(out), tt.first) {
				t.Errorf("got %q, want %q", firstLine(out), tt.first)
			}
			if took > 5500*time.Millisecond {
				t.Errorf("took %v with -t 5", took)
			}
		})
	}
}

// TestSASL: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 against a kfake cluster
// that requires SASL; secrets from a file and from the environment; a wrong
// password and a missing SASL are UNKNOWN with what failed.
func TestSASL(t *testing.T) {
	c := startCluster(t, kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plainuser", "plain-secret"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "secret-256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "secret-512"))
	cl := c.producer(t, kgo.SASL(plain.Auth{User: "plainuser", Pass: "plain-secret"}.AsMechanism()))
	createTopic(t, cl, "private", 2)
	produce(t, cl, "private", map[int32]int{0: 6, 1: 6})
	commitDirect(t, cl, "saslgroup", "private", map[int32]int64{0: 6, 1: 1})

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("secret-512\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad")
	if err := os.WriteFile(badFile, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := "KAFKA_LAG OK - 1 group, total lag 5, most behind group saslgroup topic private lag 5 | saslgroup_lag=5;;;0 saslgroup_members=0;;;0 saslgroup_max_partition_lag=5;;;0 saslgroup/private_lag=5;;;0"
	tests := []struct {
		name  string
		env   []string
		args  []string
		code  int
		first string
	}{
		{"PLAIN from env", []string{"KAFKA_PW=plain-secret"}, []string{"--sasl-mechanism", "PLAIN", "--sasl-user", "plainuser", "--sasl-password-env", "KAFKA_PW"}, 0, ok},
		{"SCRAM-SHA-256 from env", []string{"KAFKA_PW=secret-256"}, []string{"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "scram256", "--sasl-password-env", "KAFKA_PW"}, 0, ok},
		{"SCRAM-SHA-512 from file", nil, []string{"--sasl-mechanism", "scram-sha-512", "--sasl-user", "scram512", "--sasl-password-file", pwFile}, 0, ok},
		{"wrong password", nil, []string{"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "scram512", "--sasl-password-file", badFile}, 3,
			`KAFKA_LAG UNKNOWN - SASL SCRAM-SHA-512 authentication as "scram512" failed at `},
		{"no SASL", nil, nil, 3, "is SASL missing?"},
		{"password env unset", nil, []string{"--sasl-mechanism", "PLAIN", "--sasl-user", "plainuser", "--sasl-password-env", "KAFKA_PW"}, 3,
			"KAFKA_LAG UNKNOWN - --sasl-password-env: KAFKA_PW is not set"},
		{"no password source", nil, []string{"--sasl-mechanism", "PLAIN", "--sasl-user", "plainuser"}, 3,
			"KAFKA_LAG UNKNOWN - --sasl-mechanism needs --sasl-password-file or --sasl-password-env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-B", strings.Join(c.addrs, ","), "-g", "saslgroup", "-t", "5", "--allow-empty", "--no-time-lag"}, tt.args...)
			out, code, took := runBinary(t, tt.env, args...)
			t.Logf("%s(%v)", out, took)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if tt.code == 0 && firstLine(out) != tt.first || tt.code != 0 && !strings.Contains(firstLine(out), tt.first) {
				t.Errorf("got %q, want %q", firstLine(out), tt.first)
			}
			if took > 5500*time.Millisecond {
				t.Errorf("took %v with -t 5", took)
			}
		})
	}
}
