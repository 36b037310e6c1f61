package serve

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ACL is allowed_hosts: addresses, CIDR networks (IPv4 and IPv6) and host
// names. A nil *ACL allows everyone (allowed_hosts unset), as in the stock
// daemon. Addresses are compared unmapped, so an IPv4 client reaching a
// dual-stack socket as ::ffff:a.b.c.d matches its IPv4 entry.
type ACL struct {
	prefixes []netip.Prefix
	names    []string

	resolver *net.Resolver
	ttl      time.Duration
	mu       sync.Mutex
	cache    map[string]resolved
}

type resolved struct {
	addrs []netip.Addr
	at    time.Time
}

// ParseACL reads allowed_hosts entries.
func ParseACL(entries []string) (*ACL, error) {
	if entries == nil {
		return nil, nil
	}
	a := &ACL{resolver: net.DefaultResolver, ttl: 30 * time.Second, cache: map[string]resolved{}}
	for _, e := range entries {
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("allowed_hosts entry %q: %w", e, err)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("allowed_hosts entry %q: IP address and mask do not match (network is %s)", e, p.Masked())
			}
			a.prefixes = append(a.prefixes, netip.PrefixFrom(p.Addr().Unmap(), unmapBits(p)))
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil {
			ip = ip.Unmap()
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		if !validHostname(e) {
			return nil, fmt.Errorf("allowed_hosts entry %q is neither an address, a network nor a host name", e)
		}
		a.names = append(a.names, strings.ToLower(e))
	}
	return a, nil
}

func unmapBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return p.Bits() - 96
	}
	return p.Bits()
}

func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// Allowed reports whether addr may talk to the agent. Host names are
// resolved when needed and the answer kept for 30 s (the stock daemon
// resolves on every connection); a name that does not resolve allows
// nobody but breaks nothing else.
func (a *ACL) Allowed(ctx context.Context, addr netip.Addr) bool {
	if a == nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	for _, name := range a.names {
		for _, ip := range a.lookup(ctx, name) {
			if ip.Unmap() == addr {
				return true
			}
		}
	}
	return false
}

func (a *ACL) lookup(ctx context.Context, name string) []netip.Addr {
	a.mu.Lock()
	r, ok := a.cache[name]
	a.mu.Unlock()
	if ok && time.Since(r.at) < a.ttl {
		return r.addrs
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := a.resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		addrs = nil
	}
	a.mu.Lock()
	a.cache[name] = resolved{addrs, time.Now()}
	a.mu.Unlock()
	return addrs
}
