package serve

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

func TestACL(t *testing.T) {
	acl, err := ParseACL([]string{"127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.7", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true}, // an IPv4 client on a dual-stack socket
		{"::1", true},
		{"10.200.3.4", true},
		{"11.0.0.1", false},
		{"2001:db8:1::5", true},
		{"2001:db9::1", false},
		{"192.0.2.7", true},
		{"192.0.2.8", false},
	}
	for _, tc := range tests {
		if got := acl.Allowed(context.Background(), netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.addr, got, tc.want)
		}
	}
	var everyone *ACL
	if !everyone.Allowed(context.Background(), netip.MustParseAddr("203.0.113.1")) {
		t.Error("unset allowed_hosts must allow everyone")
	}
	none, _ := ParseACL([]string{})
	if none.Allowed(context.Background(), netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty allowed_hosts allowed a client")
	}
}

func TestACLErrors(t *testing.T) {
	for entry, want := range map[string]string{
		"10.0.0.1/8":   "IP address and mask do not match",
		"10.0.0.0/33":  "10.0.0.0/33",
		"bad_host!":    "neither an address",
		"-leading.com": "neither an address",
	} {
		if _, err := ParseACL([]string{entry}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", entry, err, want)
		}
	}
}
