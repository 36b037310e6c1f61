package nrpe

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/nrpe"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// startStock starts the stock nrpe 4.1.0 daemon in the foreground on a free
// port with cfg appended to the settings it needs as root.
func startStock(t *testing.T, cfg string, flags ...string) *agent {
	t.Helper()
	testenv.RequireFile(t, stockNRPE)
	testenv.Require(t, os.Geteuid() == 0, "root (the stock daemon drops to nagios)")
	dir := workDir(t)
	a := &agent{port: testenv.FreePort(t), dir: dir, log: &syncBuffer{}, done: make(chan struct{})}
	a.cfg = filepath.Join(dir, "nrpe.cfg")
	text := fmt.Sprintf("server_address=127.0.0.1\nserver_port=%d\nnrpe_user=nagios\nnrpe_group=nagios\npid_file=/run/nagios/vigil-test-%d.pid\nallowed_hosts=127.0.0.1\n%s",
		a.port, a.port, cfg)
	if err := os.WriteFile(a.cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	a.start(t, stockNRPE, append([]string{"-c", a.cfg, "-f"}, flags...))
	return a
}

// writeCert writes a self-signed pair readable by the daemon's user.
func writeCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	c, k, err := nrpe.SelfSigned("127.0.0.1", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	os.WriteFile(cert, c, 0o644)
	os.WriteFile(key, k, 0o644)
	return cert, key
}

// vigil-agent query against the stock daemon gives what check_nrpe gives,
// in plaintext and over TLS with a certificate.
func TestVigilClientAgainstStockDaemon(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	commands := "command_timeout=2\ncommand[ok]=" + checkDummy + " 0 OK\ncommand[crit]=" + checkDummy + " 2 CRIT thing\ncommand[sleep]=/bin/sleep 30\n"
	cert, key := writeCert(t, workDir(t))
	modes := []struct {
		name  string
		cfg   string
		flags []string
		args  []string
	}{
		{"plaintext", commands, []string{"-n"}, []string{"-n"}},
		{"TLS with certificate", commands + "ssl_cert_file=" + cert + "\nssl_privatekey_file=" + key + "\n", nil, nil},
	}
	cases := [][]string{
		nil,
		{"-c", "ok"},
		{"-2", "-c", "ok"},
		{"-4", "-b", "127.0.0.1", "-c", "ok"},
		{"-d", "1", "-c", "ok"},
		{"-c", "crit"},
		{"-c", "nosuch"},
		{"-c", "ok", "-a", "1"}, // Debian's build refuses arguments: closed unanswered
		{"-c", "sleep"},
		{"-t", "1", "-c", "sleep"},
		{"-t", "1:WARNING", "-c", "sleep"},
		{"-u", "-t", "1", "-c", "sleep"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			d := startStock(t, m.cfg, m.flags...)
			for _, c := range cases {
				args := append(append([]string{}, m.args...), c...)
				want, wantCode := stock(t, d.addr(), args...)
				got, code := query(t, d.addr(), args...)
				if got != want || code != wantCode {
					t.Errorf("%q: vigil-agent query rc %d %q, check_nrpe rc %d %q", args, code, got, wantCode, want)
				}
			}
		})
	}
}

// The stock daemon with a certificate and ssl_client_certs=2: vigil's
// client gets in with a certificate and is refused without.
func TestVigilClientCertToStockDaemon(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	pki := newPKI(t)
	d := startStock(t, fmt.Sprintf("ssl_cert_file=%s\nssl_privatekey_file=%s\nssl_cacert_file=%s\nssl_client_certs=2\ncommand[ok]=%s 0 OK\n",
		pki.serverCert, pki.serverKey, pki.caFile, checkDummy))
	if out, code := query(t, d.addr(), "-C", pki.clientCert, "-K", pki.clientKey, "-A", pki.caFile, "-c", "ok"); out != "OK: OK\n" || code != 0 {
		t.Errorf("with client certificate: rc %d %q", code, out)
	}
	if out, code := query(t, d.addr(), "-c", "ok"); code == 0 {
		t.Errorf("without client certificate: rc %d %q", code, out)
	}
}
