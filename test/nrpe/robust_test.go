package nrpe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/nrpe"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// sendRaw writes b on a new connection and returns what comes back before
// the agent closes (bounded by 5 s).
func sendRaw(t *testing.T, addr string, b []byte, closeWrite bool) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(b)
	if closeWrite {
		c.(*net.TCPConn).CloseWrite()
	}
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("reading after %d bytes: %v", len(b), err)
	}
	return got
}

// Malformed packets are closed unanswered and logged by reason; the agent
// keeps serving.
func TestMalformedPackets(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "command[ok]="+checkDummy+" 0 OK\n", "-n")
	good := nrpe.Packet{Version: 4, Type: nrpe.TypeQuery, Text: []byte("ok")}.Encode(nrpe.EncodeOptions{MinSize: nrpe.V2PacketSize})
	badCRC := append([]byte(nil), good...)
	badCRC[100] = 'x'
	huge := append([]byte(nil), good[:16]...)
	binary.BigEndian.PutUint32(huge[12:], 1<<30)
	response := nrpe.Packet{Version: 4, Type: nrpe.TypeResponse, Text: []byte("ok")}.Encode(nrpe.EncodeOptions{})
	tests := []struct {
		name string
		raw  []byte
		log  string
	}{
		{"garbage", []byte("GET / HTTP/1.0\r\nHost: x\r\n\r\n"), "Request packet version was invalid!"},
		{"bad CRC", badCRC, "Request packet had invalid CRC32."},
		{"oversized", huge, "Request packet had an invalid buffer_length"},
		{"truncated", good[:500], "client closed the connection before a whole request arrived"},
		{"wrong type", response, "Request packet type was invalid!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sendRaw(t, a.addr(), tc.raw, true); len(got) != 0 {
				t.Errorf("answered %d bytes", len(got))
			}
			waitLog(t, a.log, tc.log)
		})
	}
	if out, code := stock(t, a.addr(), "-n", "-c", "ok"); out != "OK: OK\n" || code != 0 {
		t.Errorf("after malformed packets: rc %d %q", code, out)
	}
}

// Slow or silent clients are cut at connection_timeout, in plaintext as
// well as TLS (the stock daemon has no timer in plaintext), and other
// clients are served meanwhile.
func TestSlowlorisCutAtConnectionTimeout(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	for _, mode := range []struct {
		name  string
		flags []string
		args  []string
	}{{"plaintext", []string{"-n"}, []string{"-n"}}, {"TLS", nil, nil}} {
		t.Run(mode.name, func(t *testing.T) {
			a := startAgent(t, "connection_timeout=2\ncommand[ok]="+checkDummy+" 0 OK\n", mode.flags...)
			var conns []net.Conn
			for i := 0; i < 50; i++ {
				c, err := net.Dial("tcp", a.addr())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if i%2 == 0 {
					c.Write([]byte{0, 4, 0, 1, 0}) // half a header, then silence
				}
				conns = append(conns, c)
			}
			if out, code := stock(t, a.addr(), append(mode.args, "-c", "ok")...); out != "OK: OK\n" || code != 0 {
				t.Errorf("while 50 idle connections are open: rc %d %q", code, out)
			}
			start := time.Now()
			for _, c := range conns {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.ReadAll(c); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("an idle connection was still open after %v", time.Since(start))
				}
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("idle connections closed only after %v", d)
			}
		})
	}
}

// 1,000 connections at once: every one is answered.
func TestThousandConnections(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "command[ok]="+checkDummy+" 0 OK\n", "-n")
	// _NRPE_CHECK needs no fork: the test is about connections.
	client := &nrpe.Client{Addr: a.addr(), Version: nrpe.Version4}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := client.Query(ctx, "_NRPE_CHECK")
			if err != nil || !strings.HasPrefix(res.Output, "NRPE v4.1.0") {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprint(err))
				return
			}
			ok.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1000 {
		t.Errorf("%d answered, %d failed (first: %v)", ok.Load(), failed.Load(), firstErr.Load())
	}
	if out, code := stock(t, a.addr(), "-n", "-c", "ok"); out != "OK: OK\n" || code != 0 {
		t.Errorf("after the burst: rc %d %q", code, out)
	}
}

// A check that forks a child which never exits: the agent answers at
// command_timeout and leaves no process behind; one whose main process
// exits early while a background child lingers also leaves nothing.
func TestNoOrphans(t *testing.T) {
	dir := workDir(t)
	marker := fmt.Sprintf("vigil-orphan-test-%d", os.Getpid())
	a := startAgent(t, strings.Join([]string{
		"command_timeout=2",
		"command[hang]=" + script(t, dir, "hang", fmt.Sprintf("sh -c 'sleep 600; echo %s' &\nsleep 500\necho never", marker)),
		"command[early]=" + script(t, dir, "early", fmt.Sprintf("(sleep 601; echo %s) >/dev/null 2>&1 &\necho 'OK - left a child'", marker)),
		"command[trap]=" + script(t, dir, "trap", fmt.Sprintf("trap '' TERM\nsh -c 'trap \"\" TERM; sleep 602; echo %s' &\nsleep 502", marker)),
		"",
	}, "\n"), "-n")
	for _, tc := range []struct{ cmd, out string }{
		{"hang", "NRPE: Command timed out after 2 seconds\n"},
		{"early", "OK - left a child\n"},
		{"trap", "NRPE: Command timed out after 2 seconds\n"},
	} {
		if out, _ := stock(t, a.addr(), "-n", "-c", tc.cmd); out != tc.out {
			t.Errorf("%s: %q, want %q", tc.cmd, out, tc.out)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := testenv.ProcessesWith(marker)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
