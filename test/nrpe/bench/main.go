// Command bench runs the stock nrpe 4.1.0 daemon and vigil-agent side by
// side on loopback with the same command and prints requests/s, latency
// percentiles and memory for each, plus the ratios.
//
//	go run ./test/nrpe/bench [-d 3s] [-clients 8,32]
//
// It needs root (the stock daemon drops to nagios), /usr/sbin/nrpe and
// /usr/lib/nagios/plugins/check_dummy. Each level: one TCP (or TLS)
// connection per request, as check_nrpe makes, N concurrent clients, a
// short warm-up, then a fixed time. Latency is connect to reply read.
// Memory is the peak, sampled every 50 ms, of the summed VmRSS and of the
// summed PSS (proportional set size: pages shared between forked processes
// divided among them) of the daemon's live processes and their children
// (zombies excluded).
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-monitoring/vigil/nrpe"
)

const (
	stockNRPE  = "/usr/sbin/nrpe"
	checkDummy = "/usr/lib/nagios/plugins/check_dummy"
)

func main() {
	duration := flag.Duration("d", 3*time.Second, "measuring time per level")
	clientsFlag := flag.String("clients", "8,32", "concurrent clients per level")
	agentBin := flag.String("agent", "", "vigil-agent binary (default: build it)")
	sequential := flag.Int("sequential", 30, "sequential check_nrpe calls per daemon and mode (0: skip)")
	flag.Parse()
	if err := runAll(*duration, *clientsFlag, *agentBin, *sequential); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type daemon struct {
	name    string
	cmd     *exec.Cmd
	addr    string
	comm    string // process name to sum RSS over
	cfgPath string
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func start(name, bin string, args []string, cfgPath, addr, comm string) (*daemon, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{name: name, cmd: cmd, addr: addr, comm: comm, cfgPath: cfgPath}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return d, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	d.stop()
	return nil, fmt.Errorf("%s did not listen on %s", name, addr)
}

func runAll(duration time.Duration, clientsFlag, agentBin string, sequential int) error {
	for _, f := range []string{stockNRPE, checkDummy} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing", f)
		}
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: the stock daemon needs nrpe_user/nrpe_group to drop to")
	}
	dir, err := os.MkdirTemp("", "vigil-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	if agentBin == "" {
		agentBin = filepath.Join(dir, "vigil-agent")
		b := exec.Command("go", "build", "-o", agentBin, "./agent/cmd/vigil-agent")
		b.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := b.CombinedOutput(); err != nil {
			return fmt.Errorf("building vigil-agent (run from the repository root): %v\n%s", err, out)
		}
	}
	certPEM, keyPEM, err := nrpe.SelfSigned("127.0.0.1", 24*time.Hour)
	if err != nil {
		return err
	}
	cert, key := filepath.Join(dir, "bench.crt"), filepath.Join(dir, "bench.key")
	os.WriteFile(cert, certPEM, 0o644)
	os.WriteFile(key, keyPEM, 0o644)

	var clients []int
	for _, s := range strings.Split(clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		clients = append(clients, n)
	}
	common := "server_address=127.0.0.1\nallowed_hosts=127.0.0.1\nnrpe_user=nagios\nnrpe_group=nagios\ndebug=0\n" +
		"command[check_dummy]=" + checkDummy + " 0 OK\n" +
		"command[check_host]=vigil:check_host --mode load -w 1000 -c 2000\n"
	type result struct {
		daemon, mode, command string
		clients               int
		stats                 stats
	}
	var results []result
	type seqResult struct {
		daemon, mode string
		perCall      time.Duration
	}
	var seqResults []seqResult
	fmt.Printf("%-12s %-6s %-12s %7s %9s %8s %8s %8s %6s %8s %8s %8s\n", "daemon", "mode", "command", "clients", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "RSS MB", "PSS MB", "anon MB")
	for _, mode := range []string{"plain", "tls"} {
		for _, which := range []string{"stock", "vigil"} {
			port := freePort()
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			cfg := fmt.Sprintf("%sserver_port=%d\npid_file=/run/nagios/vigil-bench-%d.pid\n", common, port, port)
			if mode == "tls" {
				cfg += "ssl_cert_file=" + cert + "\nssl_privatekey_file=" + key + "\n"
			}
			if which == "vigil" {
				cfg += "vigil_tls_dir=" + filepath.Join(dir, "tls") + "\n"
			}
			cfgPath := filepath.Join(dir, fmt.Sprintf("%s-%s.cfg", which, mode))
			os.WriteFile(cfgPath, []byte(cfg), 0o644)
			var d *daemon
			if which == "stock" {
				args := []string{"-c", cfgPath, "-f"}
				if mode == "plain" {
					args = append(args, "-n")
				}
				d, err = start("stock nrpe", stockNRPE, args, cfgPath, addr, "nrpe")
			} else {
				args := []string{"serve", "-c", cfgPath}
				if mode == "plain" {
					args = append(args, "-n")
				}
				d, err = start("vigil-agent", agentBin, args, cfgPath, addr, "vigil-agent")
			}
			if err != nil {
				return err
			}
			if sequential > 0 {
				for _, seqMode := range sequentialModes(mode) {
					per, err := sequentialCalls(d, seqMode.args, sequential)
					if err != nil {
						d.stop()
						return err
					}
					seqResults = append(seqResults, seqResult{d.name, seqMode.name, per})
				}
			}
			commands := []string{"check_dummy"}
			if which == "vigil" {
				commands = append(commands, "check_host")
			}
			for _, command := range commands {
				for _, n := range clients {
					st := load(d, mode == "tls", command, n, duration)
					results = append(results, result{which, mode, command, n, st})
					label := command
					if which == "vigil" && command == "check_host" {
						label = "in-process"
					}
					fmt.Printf("%-12s %-6s %-12s %7d %9.0f %8.1f %8.1f %8.1f %6d %8.1f %8.1f %8.1f\n", d.name, mode, label, n, st.rate, ms(st.p50), ms(st.p99), ms(st.max), st.errors, float64(st.rssPeak)/1024, float64(st.pssPeak)/1024, float64(st.anonPeak)/1024)
				}
			}
			d.stop()
		}
	}
	if len(seqResults) > 0 {
		fmt.Printf("\nstock check_nrpe, %d sequential calls of check_dummy (TLS 1.3 shows the delayed-ACK stall):\n", sequential)
		for _, r := range seqResults {
			fmt.Printf("  %-12s %-22s %6.1f ms/call\n", r.daemon, r.mode, ms(r.perCall))
		}
	}
	fmt.Println("\nratios, vigil-agent / stock nrpe (same mode and clients; stock always runs check_dummy):")
	find := func(daemon, mode, command string, n int) *stats {
		for i := range results {
			r := &results[i]
			if r.daemon == daemon && r.mode == mode && r.command == command && r.clients == n {
				return &r.stats
			}
		}
		return nil
	}
	for _, mode := range []string{"plain", "tls"} {
		for _, n := range clients {
			s := find("stock", mode, "check_dummy", n)
			v := find("vigil", mode, "check_dummy", n)
			i := find("vigil", mode, "check_host", n)
			if s == nil || v == nil || i == nil || s.rate == 0 {
				continue
			}
			fmt.Printf("%-6s %2d clients: check_dummy %.1fx req/s, p99 %.1f -> %.1f ms, RSS %.1f -> %.1f MB, PSS %.1f -> %.1f MB, anon %.1f -> %.1f MB; in-process %.1fx req/s\n",
				mode, n, v.rate/s.rate, ms(s.p99), ms(v.p99), float64(s.rssPeak)/1024, float64(v.rssPeak)/1024, float64(s.pssPeak)/1024, float64(v.pssPeak)/1024,
				float64(s.anonPeak)/1024, float64(v.anonPeak)/1024, i.rate/s.rate)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

type stats struct {
	rate          float64
	p50, p99, max time.Duration
	errors        int64
	rssPeak       int64 // kB, summed VmRSS
	pssPeak       int64 // kB, summed PSS
	anonPeak      int64 // kB, summed Pss_Anon: the part the kernel cannot drop
}

// load runs n clients against d for the duration after a warm-up.
func load(d *daemon, useTLS bool, command string, n int, duration time.Duration) stats {
	client := &nrpe.Client{Addr: d.addr, Version: nrpe.Version4, Dialer: &net.Dialer{}}
	if useTLS {
		client.TLS = &tls.Config{InsecureSkipVerify: true}
	}
	var measuring atomic.Bool
	var errors atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				qctx, qcancel := context.WithTimeout(ctx, 15*time.Second)
				t0 := time.Now()
				res, err := client.Query(qctx, command)
				el := time.Since(t0)
				qcancel()
				if !measuring.Load() {
					continue
				}
				if err != nil || res.Code > 3 {
					if ctx.Err() == nil {
						errors.Add(1)
					}
					continue
				}
				mine = append(mine, el)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(300 * time.Millisecond)
	measuring.Store(true)
	var peak, peakPSS, peakAnon atomic.Int64
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for measuring.Load() {
			r, p, a := memory(d)
			if r > peak.Load() {
				peak.Store(r)
			}
			if p > peakPSS.Load() {
				peakPSS.Store(p)
			}
			if a > peakAnon.Load() {
				peakAnon.Store(a)
			}
			<-tick.C
		}
	}()
	start := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	<-sampleDone
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st := stats{errors: errors.Load(), rssPeak: peak.Load(), pssPeak: peakPSS.Load(), anonPeak: peakAnon.Load()}
	if len(lat) > 0 {
		st.rate = float64(len(lat)) / elapsed.Seconds()
		st.p50 = lat[len(lat)/2]
		st.p99 = lat[len(lat)*99/100]
		st.max = lat[len(lat)-1]
	}
	return st
}

// memory sums VmRSS, PSS and anonymous PSS (kB) over the daemon's live processes and
// their children. For the stock daemon that is every "nrpe" process whose
// command line names the config (forked children are separate address
// spaces). Go starts a command with vfork: until it execs, the child shares
// the agent's address space and would count it twice, so for vigil-agent
// only its own PID counts among processes of that name. Anonymous PSS
// leaves out the executable's file pages, which the kernel can drop and
// read again: a 25 MB static binary maps more of them than nrpe and libc.
func memory(d *daemon) (rssKB, pssKB, anonKB int64) {
	ents, _ := os.ReadDir("/proc")
	type proc struct {
		ppid     int
		rss, pss int64
		anon     int64
		mine     bool
		skip     bool
	}
	procs := map[int]*proc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		p := &proc{}
		var name, state string
		for _, line := range strings.Split(string(status), "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				name = v
			case "State":
				state = v
			case "PPid":
				p.ppid, _ = strconv.Atoi(v)
			case "VmRSS":
				p.rss, _ = strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			}
		}
		if strings.HasPrefix(state, "Z") {
			continue
		}
		if rollup, err := os.ReadFile("/proc/" + e.Name() + "/smaps_rollup"); err == nil {
			for _, line := range strings.Split(string(rollup), "\n") {
				if v, ok := strings.CutPrefix(line, "Pss:"); ok {
					p.pss, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				}
				if v, ok := strings.CutPrefix(line, "Pss_Anon:"); ok {
					p.anon, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				}
			}
		}
		if name == d.comm {
			if d.comm == "vigil-agent" {
				p.mine = pid == d.cmd.Process.Pid
				p.skip = !p.mine
			} else {
				cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
				p.mine = strings.Contains(string(cmdline), d.cfgPath)
			}
		}
		procs[pid] = p
	}
	for _, p := range procs {
		if p.skip {
			continue
		}
		for q, hops := p, 0; q != nil && hops < 6; q, hops = procs[q.ppid], hops+1 {
			if q.mine {
				rssKB += p.rss
				pssKB += p.pss
				anonKB += p.anon
				break
			}
		}
	}
	return rssKB, pssKB, anonKB
}

type seqMode struct {
	name string
	args []string
}

func sequentialModes(mode string) []seqMode {
	if mode == "plain" {
		return []seqMode{{"plaintext (-n)", []string{"-n"}}}
	}
	return []seqMode{{"TLS 1.3 (default)", nil}, {"TLS 1.2 (-S TLSv1.2)", []string{"-S", "TLSv1.2"}}}
}

// sequentialCalls times n stock check_nrpe calls, one after the other.
func sequentialCalls(d *daemon, args []string, n int) (time.Duration, error) {
	const checkNRPE = "/usr/lib/nagios/plugins/check_nrpe"
	host, port, _ := net.SplitHostPort(d.addr)
	full := append([]string{"-H", host, "-p", port}, args...)
	full = append(full, "-c", "check_dummy")
	start := time.Now()
	for i := 0; i < n; i++ {
		out, err := exec.Command(checkNRPE, full...).CombinedOutput()
		if err != nil || string(out) != "OK: OK\n" {
			return 0, fmt.Errorf("check_nrpe %q against %s: %v %q", full, d.name, err, out)
		}
	}
	return time.Since(start) / time.Duration(n), nil
}
