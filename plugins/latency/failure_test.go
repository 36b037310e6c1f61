package latency

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// TestClassify sorts real transport errors from net/http by kind. The DNS
// error is built by hand: resolving a name would leave the machine.
func TestClassify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := func(client *http.Client, target string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return fmt.Errorf("GET %s succeeded", target)
		}
		return err
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()

	// A server that accepts and never answers, for a client timeout.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)

	dnsErr := &url.Error{Op: "Get", URL: "http://model.invalid/", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "model.invalid", IsNotFound: true}}}

	tests := []struct {
		name  string
		err   error
		kind  failureKind
		state plugin.Status
	}{
		{"refused", get(http.DefaultClient, "http://"+closed+"/"), failRefused, plugin.Critical},
		{"TLS unknown authority", get(&http.Client{}, tlsSrv.URL), failTLS, plugin.Critical},
		{"client timeout", get(&http.Client{Timeout: 50 * time.Millisecond}, slow.URL), failTimeout, plugin.Critical},
		{"DNS", dnsErr, failDNS, plugin.Unknown},
		{"HTTP status", failf(failStatus, "HTTP 500"), failStatus, plugin.Critical},
		{"deadline", fmt.Errorf("reading the answer: %w", context.DeadlineExceeded), failTimeout, plugin.Critical},
		{"other", errors.New("something else"), failOther, plugin.Critical},
	}
	ev := evaluation{refused: plugin.Critical, timeout: plugin.Critical}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.kind {
			t.Errorf("%s: classify(%v) = %v, want %v", tt.name, tt.err, got, tt.kind)
		}
		if got := tt.kind.state(ev); got != tt.state {
			t.Errorf("%s: state %v, want %v", tt.name, got, tt.state)
		}
	}
}
