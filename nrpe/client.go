package nrpe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Client queries an NRPE daemon the way check_nrpe 4.x does: one connection
// per query, a v4 packet padded to 1036 bytes first and, if reading the
// answer fails for any reason but a CRC mismatch, a second connection with
// a v2 packet.
type Client struct {
	// Addr is host:port.
	Addr string
	// TLS, when set, wraps every connection (nil: plaintext, check_nrpe -n).
	TLS *tls.Config
	// Version forces one packet version (2, 3 or 4) without fallback;
	// 0 means v4 with the v2 retry.
	Version int
	// Dialer dials the TCP connection; nil means a zero net.Dialer.
	Dialer *net.Dialer
	// Network is "tcp" (default), "tcp4" or "tcp6" (check_nrpe -4/-6).
	Network string
}

// Result is a daemon's answer.
type Result struct {
	Version int    // the packet version that answered
	Code    int    // the result code, 0..3 from a conforming daemon
	Output  string // the buffer text
}

// QueryText joins a command and its arguments as check_nrpe does:
// "name!arg1!arg2", without escaping. An empty command is _NRPE_CHECK.
func QueryText(command string, args ...string) string {
	if command == "" {
		command = CheckCommand
	}
	if len(args) == 0 {
		return command
	}
	return command + "!" + strings.Join(args, "!")
}

// Query sends one query and returns the answer. ctx bounds the whole
// exchange, both attempts included.
func (c *Client) Query(ctx context.Context, text string) (Result, error) {
	if c.Version != 0 {
		return c.attempt(ctx, c.Version, text)
	}
	res, err := c.attempt(ctx, Version4, text)
	// Like check_nrpe: no retry after a CRC mismatch or a timeout, nor
	// when the connection could not be made at all.
	if err == nil || errors.Is(err, ErrCRC) || errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil || isDialError(err) {
		return res, err
	}
	v2, err2 := c.attempt(ctx, Version2, text)
	if err2 != nil {
		return v2, fmt.Errorf("v4 attempt: %v; v2 retry: %w", err, err2)
	}
	return v2, nil
}

type dialError struct{ error }

func (e dialError) Unwrap() error { return e.error }

func isDialError(err error) bool {
	var d dialError
	return errors.As(err, &d)
}

func (c *Client) attempt(ctx context.Context, version int, text string) (Result, error) {
	d := c.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	network := c.Network
	if network == "" {
		network = "tcp"
	}
	conn, err := d.DialContext(ctx, network, c.Addr)
	if err != nil {
		return Result{}, dialError{fmt.Errorf("connecting to %s: %w", c.Addr, err)}
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if c.TLS != nil {
		cfg := c.TLS
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg = cfg.Clone()
			host, _, _ := net.SplitHostPort(c.Addr)
			cfg.ServerName = host
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return Result{}, dialError{fmt.Errorf("TLS handshake with %s: %w", c.Addr, err)}
		}
		conn = tc
	}
	q := Packet{Version: version, Type: TypeQuery, Text: []byte(text)}
	if _, err := conn.Write(q.Encode(EncodeOptions{MinSize: V2PacketSize})); err != nil {
		return Result{}, fmt.Errorf("sending v%d query: %w", version, err)
	}
	p, err := ReadPacket(conn, 0)
	if err != nil {
		return Result{}, fmt.Errorf("reading v%d answer: %w", version, err)
	}
	if p.Version != version {
		return Result{}, fmt.Errorf("answer is v%d, query was v%d: %w", p.Version, version, ErrVersion)
	}
	if p.Type != TypeResponse {
		return Result{}, fmt.Errorf("answer has packet type %d, want %d", p.Type, TypeResponse)
	}
	return Result{Version: p.Version, Code: int(p.ResultCode), Output: string(p.Text)}, nil
}
