package nrpe

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// ssl_client_certs=2: stock check_nrpe with -C/-K (signed by the configured
// CA) gets in, -A verifies the agent's configured certificate; a client
// without a certificate, or with one from another CA, is refused and the
// refusal logged.
func TestClientCertificatesRequired(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	p := newPKI(t)
	a := startAgent(t, fmt.Sprintf("ssl_cert_file=%s\nssl_privatekey_file=%s\nssl_cacert_file=%s\nssl_client_certs=2\nssl_logging=16\ncommand[ok]=%s 0 OK\n",
		p.serverCert, p.serverKey, p.caFile, checkDummy))
	if out, code := stock(t, a.addr(), "-C", p.clientCert, "-K", p.clientKey, "-A", p.caFile, "-c", "ok"); out != "OK: OK\n" || code != 0 {
		t.Errorf("with client certificate: rc %d %q", code, out)
	}
	waitLog(t, a.log, "client_cn=nagios-client")
	if out, code := stock(t, a.addr(), "-c", "ok"); code == 0 || strings.Contains(out, "OK: OK") {
		t.Errorf("without client certificate: rc %d %q", code, out)
	}
	waitLog(t, a.log, "certificate")
	if out, code := stock(t, a.addr(), "-C", p.otherCert, "-K", p.otherKey, "-c", "ok"); code == 0 || strings.Contains(out, "OK: OK") {
		t.Errorf("with another CA's certificate: rc %d %q", code, out)
	}
	waitLog(t, a.log, "unknown authority")
	// vigil's own client, the same way.
	if out, code := query(t, a.addr(), "-C", p.clientCert, "-K", p.clientKey, "-A", p.caFile, "-c", "ok"); out != "OK: OK\n" || code != 0 {
		t.Errorf("vigil-agent query with client certificate: rc %d %q", code, out)
	}
}
