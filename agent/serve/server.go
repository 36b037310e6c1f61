// Package serve is vigil-agent's NRPE listener: allowed_hosts, TLS,
// connection and concurrency bounds, one request and one answer per
// connection, reload on SIGHUP and graceful shutdown.
package serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-monitoring/vigil/agent/config"
	"github.com/vigil-monitoring/vigil/agent/run"
	"github.com/vigil-monitoring/vigil/nrpe"
)

// Server serves one nrpe.cfg.
type Server struct {
	file string
	log  *slog.Logger
	opts Options

	ctx      context.Context // ends at shutdown
	st       atomic.Pointer[state]
	slots    chan struct{}
	conns    atomic.Int64
	inflight sync.WaitGroup
	ln       net.Listener
	fixedTLS *tls.Config // read as root before DropPrivileges; kept across reloads
}

// Options are the command-line choices that override the file.
type Options struct {
	Plaintext bool   // -n: no TLS whatever the file says
	TLSDir    string // --tls-dir: overrides vigil_tls_dir
}

// New builds a server from a loaded configuration; file is re-read on
// Reload.
func New(file string, c *config.Config, log *slog.Logger, opts Options) (*Server, error) {
	s := &Server{file: file, log: log, opts: opts}
	s.slots = make(chan struct{}, c.MaxConcurrentChecks)
	st, err := s.build(c)
	if err != nil {
		return nil, err
	}
	s.st.Store(st)
	return s, nil
}

func (s *Server) build(c *config.Config) (*state, error) {
	if s.opts.Plaintext {
		c.SSLEnabled = false
	}
	if s.opts.TLSDir != "" {
		c.TLSDir = s.opts.TLSDir
	}
	st, notes, err := buildState(c, s.log, s.slots, s.fixedTLS)
	if err != nil {
		return nil, err
	}
	for _, w := range c.Warnings {
		s.log.Warn("config: " + w)
	}
	for _, n := range notes {
		s.log.Info(n)
	}
	return st, nil
}

// Listen binds the configured address. Go listens with the kernel's
// somaxconn as backlog (4096 on current kernels), far above the stock
// default of 5 whose overflow costs clients 1-7 s SYN retransmits; a
// listen_queue_size above somaxconn is noted in the log.
func (s *Server) Listen() error {
	c := s.st.Load().cfg
	addr := net.JoinHostPort(c.ServerAddress, strconv.Itoa(c.ServerPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	s.ln = ln
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && c.ListenQueueSize > max {
			s.log.Warn("listen_queue_size is above net.core.somaxconn; the kernel caps the backlog", "listen_queue_size", c.ListenQueueSize, "somaxconn", max)
		}
	}
	mode := "TLS"
	if s.st.Load().tls == nil {
		mode = "plaintext"
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "mode", mode, "commands", len(c.Commands))
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until ctx ends, then stops accepting and waits
// for requests in flight: their checks finish or are killed at their
// command_timeout, bounded by vigil_shutdown_timeout.
func (s *Server) Serve(ctx context.Context) error {
	s.ctx = ctx
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	var tempDelay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return s.drain()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscallEMFILE) {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", tempDelay)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("accepting connections: %w", err)
		}
		tempDelay = 0
		st := s.st.Load()
		if n := s.conns.Add(1); n > int64(st.cfg.MaxConnections) {
			s.conns.Add(-1)
			s.log.Warn("connection refused: vigil_max_connections reached", "client", c.RemoteAddr().String(), "limit", st.cfg.MaxConnections)
			c.Close()
			continue
		}
		s.inflight.Add(1)
		go func() {
			defer s.inflight.Done()
			defer s.conns.Add(-1)
			s.handle(st, c)
		}()
	}
}

func (s *Server) drain() error {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	timeout := s.st.Load().cfg.ShutdownTimeout
	select {
	case <-done:
		s.log.Info("shut down")
	case <-time.After(timeout):
		s.log.Warn("shut down with requests still in flight", "after", timeout)
	}
	return nil
}

// DropPrivileges switches the process from root to nrpe_user (see the
// function of that name) and rebuilds the serving state for the new user:
// checks no longer need credentials of their own, and the TLS material read
// as root is kept for the life of the process, as the stock daemon keeps it.
func (s *Server) DropPrivileges() error {
	cur := s.st.Load()
	msg, err := DropPrivileges(cur.cfg)
	if err != nil || msg == "" {
		return err
	}
	s.fixedTLS = cur.tls
	st, _, err := buildState(cur.cfg, s.log, s.slots, s.fixedTLS)
	if err != nil {
		return fmt.Errorf("after dropping root: %w", err)
	}
	s.st.Store(st)
	s.log.Info(msg)
	return nil
}

// Reload re-reads the config file. A file that does not load or build is
// logged and rejected; the running configuration keeps serving.
func (s *Server) Reload() error {
	c, err := config.Load(s.file)
	if err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			s.log.Error("reload rejected: "+e, "file", s.file)
		}
		return err
	}
	old := s.st.Load().cfg
	st, err := s.build(c)
	if err != nil {
		s.log.Error("reload rejected, keeping the running configuration", "file", s.file, "err", err)
		return err
	}
	if c.ServerAddress != old.ServerAddress || c.ServerPort != old.ServerPort {
		s.log.Warn("server_address/server_port changed: takes effect at restart")
	}
	if c.MaxConcurrentChecks != old.MaxConcurrentChecks {
		s.log.Warn("max_concurrent_checks changed: takes effect at restart")
	}
	s.st.Store(st)
	s.log.Info("configuration reloaded", "file", s.file, "commands", len(c.Commands))
	return nil
}

// peekConn lets the first byte be looked at before TLS or plaintext reads.
type peekConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// tlsRecordHandshake is the first byte of a TLS ClientHello record; an NRPE
// packet starts with 0x00 (the high byte of its version).
const tlsRecordHandshake = 0x16

func clientAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func (s *Server) handle(st *state, c net.Conn) {
	defer c.Close()
	remote := clientAddr(c)
	log := s.log.With("client", remote.String())
	if !st.acl.Allowed(context.Background(), remote) {
		log.Warn(fmt.Sprintf("Host %s is not allowed to talk to us!", remote))
		resetAfterFirstBytes(c)
		return
	}
	cfg := st.cfg
	c.SetDeadline(time.Now().Add(cfg.ConnectionTimeout))
	// At shutdown a connection still waiting for its request is cut at
	// once; one whose check already runs gets its answer.
	idle := context.AfterFunc(s.ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer idle()

	var conn net.Conn = c
	if st.tls != nil {
		useTLS := true
		if cfg.AllowPlaintext {
			pc := &peekConn{Conn: c, r: bufio.NewReaderSize(c, 1024)}
			first, err := pc.r.Peek(1)
			if err != nil {
				log.Info("connection closed before a request", "err", err)
				return
			}
			useTLS = first[0] == tlsRecordHandshake
			conn = pc
		}
		if useTLS {
			// ACK at once around the handshake: see nrpe.SetQuickAck.
			nrpe.SetQuickAck(c)
			tc := tls.Server(conn, st.tls)
			if err := tc.Handshake(); err != nil {
				if errors.Is(err, io.EOF) {
					// a port probe or a client that gave up
					log.Info("connection closed during the TLS handshake")
				} else {
					log.Warn("Error: Could not complete SSL handshake", "err", err)
				}
				return
			}
			nrpe.SetQuickAck(c)
			conn = tc
			if cfg.SSLLogging != 0 || cfg.Debug {
				cs := tc.ConnectionState()
				attrs := []any{"version", tls.VersionName(cs.Version), "cipher", tls.CipherSuiteName(cs.CipherSuite)}
				if len(cs.PeerCertificates) > 0 {
					attrs = append(attrs, "client_cn", cs.PeerCertificates[0].Subject.CommonName)
				}
				log.Info("TLS connection", attrs...)
			}
		}
	}

	raw, err := nrpe.ReadRaw(conn, nrpe.MaxBufferLength)
	if err != nil {
		log.Warn(readError(err), "err", err)
		return
	}
	p, err := nrpe.Decode(raw)
	if err != nil {
		log.Warn(readError(err), "err", err)
		return
	}
	if p.Type != nrpe.TypeQuery {
		log.Warn("Error: Request packet type was invalid!", "type", p.Type)
		return
	}
	if !idle() {
		return // shutting down
	}
	c.SetDeadline(time.Time{}) // the check is bounded by command_timeout
	log.Debug("request", "version", p.Version, "query", string(p.Text))
	rep, err := st.runner.Handle(context.Background(), string(p.Text))
	if err != nil {
		if run.IsRejection(err) {
			log.Warn(err.Error(), "query", string(p.Text))
		} else {
			log.Error("handling request", "err", err)
		}
		return
	}
	resp := nrpe.Response(p.Version, int16(rep.Code), []byte(rep.Output))
	if resp.Truncated() {
		log.Debug("output cut to fit the packet", "version", p.Version, "bytes", len(rep.Output), "kept", nrpe.MaxText(p.Version))
	}
	log.Debug("answer", "code", rep.Code, "bytes", len(rep.Output))
	c.SetWriteDeadline(time.Now().Add(cfg.ConnectionTimeout))
	if _, err := conn.Write(resp.Encode(nrpe.EncodeOptions{})); err != nil {
		log.Warn("sending answer", "err", err)
		return
	}
	nrpe.SetQuickAck(c)
}

func readError(err error) string {
	switch {
	case errors.Is(err, nrpe.ErrCRC):
		return "Error: Request packet had invalid CRC32."
	case errors.Is(err, nrpe.ErrVersion):
		return "Error: Request packet version was invalid!"
	case errors.Is(err, nrpe.ErrTooLarge):
		return "Error: Request packet had an invalid buffer_length"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "Error: connection_timeout reached before a whole request arrived"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Error: client closed the connection before a whole request arrived"
	}
	return "Error: could not read request"
}

// resetAfterFirstBytes waits briefly for the client's first bytes, then
// closes with a reset, as the stock daemon's refusal looks on the wire:
// check_nrpe then reports "Connection reset by peer" instead of dying of
// SIGPIPE on a half-closed socket.
func resetAfterFirstBytes(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var buf [2048]byte
	c.Read(buf[:])
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}
