package nrpe

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// serveOnce answers connections on ln with answer(query) until ln closes;
// a nil answer closes the connection unanswered.
func serveOnce(t *testing.T, answer func(q Packet) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			q, err := ReadPacket(c, 0)
			if err == nil {
				if b := answer(q); b != nil {
					c.Write(b)
				}
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// Like check_nrpe, the client retries with v2 on a new connection when a
// v4 query is closed unanswered (an old v2-only daemon).
func TestClientFallsBackToV2(t *testing.T) {
	var seen []int
	addr := serveOnce(t, func(q Packet) []byte {
		seen = append(seen, q.Version)
		if q.Version != Version2 {
			return nil
		}
		return Response(Version2, 1, []byte("WARNING - old daemon")).Encode(EncodeOptions{})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := (&Client{Addr: addr}).Query(ctx, "check_x")
	if err != nil || res.Version != 2 || res.Code != 1 || res.Output != "WARNING - old daemon" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(seen) != 2 || seen[0] != 4 || seen[1] != 2 {
		t.Errorf("query versions %v, want [4 2]", seen)
	}
}

// A reply with a bad CRC is an error without a retry.
func TestClientBadCRCNoRetry(t *testing.T) {
	n := 0
	addr := serveOnce(t, func(q Packet) []byte {
		n++
		b := Response(q.Version, 0, []byte("OK")).Encode(EncodeOptions{})
		b[len(b)-2] ^= 0xff
		return b
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := (&Client{Addr: addr}).Query(ctx, "x"); !errors.Is(err, ErrCRC) {
		t.Errorf("error %v, want ErrCRC", err)
	}
	if n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// An answer in another version than the query is refused.
func TestClientVersionMismatch(t *testing.T) {
	addr := serveOnce(t, func(q Packet) []byte { return Response(Version2, 0, []byte("OK")).Encode(EncodeOptions{}) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := (&Client{Addr: addr, Version: Version4}).Query(ctx, "x"); !errors.Is(err, ErrVersion) {
		t.Errorf("error %v, want ErrVersion", err)
	}
}

func BenchmarkEncodeV4(b *testing.B) {
	p := Response(Version4, 0, []byte("OK - load average: 0.10, 0.20, 0.30 | load1=0.1;;;0 load5=0.2;;;0 load15=0.3;;;0"))
	for b.Loop() {
		p.Encode(EncodeOptions{})
	}
}

func BenchmarkDecodeV2(b *testing.B) {
	raw := Packet{Version: Version2, Type: TypeQuery, Text: []byte("check_load")}.Encode(EncodeOptions{})
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
