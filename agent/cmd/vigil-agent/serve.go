package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/vigil-monitoring/vigil/agent/config"
	"github.com/vigil-monitoring/vigil/agent/heal"
	"github.com/vigil-monitoring/vigil/agent/serve"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func serveMain(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.StringP("config", "c", "/etc/nagios/nrpe.cfg", "nrpe.cfg to serve")
	plaintext := fs.BoolP("no-ssl", "n", false, "plaintext only, like nrpe -n (check_nrpe -n)")
	tlsDir := fs.String("tls-dir", "", "where to keep the generated self-signed certificate (overrides vigil_tls_dir)")
	embedded := fs.Bool("default-config", false, "serve the embedded default configuration (see vigil-agent default-config) instead of a file")
	fs.BoolP("foreground", "f", true, "stay in the foreground (always; accepted for nrpe compatibility)")
	if err := fs.Parse(args); err != nil {
		return 3
	}
	if *embedded {
		*file = config.Embedded
		if *tlsDir == "" {
			// The default's certificate goes where this user may write,
			// not /var/lib, so `make run` works for anyone.
			dir, err := os.UserCacheDir()
			if err != nil {
				dir = os.TempDir()
			}
			*tlsDir = filepath.Join(dir, "vigil-agent", "tls")
		}
	}
	c, err := config.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "vigil-agent: %s has errors:\n%s\n", *file, indent(err.Error()))
		return 2
	}
	log, closer, err := serve.NewLogger(c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vigil-agent: %v\n", err)
		return 2
	}
	defer closer.Close()
	log.Info("starting", "version", plugin.Version, "config", *file, "pid", os.Getpid())
	srv, err := serve.New(*file, c, log, serve.Options{Plaintext: *plaintext, TLSDir: *tlsDir})
	if err != nil {
		log.Error("cannot serve", "err", err)
		return 2
	}
	removePid, err := serve.WritePidFile(c.PidFile)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 2
	}
	defer func() {
		if err := removePid(); err != nil {
			log.Warn("cannot remove the pid file", "err", err)
		}
	}()
	if err := srv.Listen(); err != nil {
		log.Error("cannot start", "err", err)
		return 2
	}
	if err := srv.DropPrivileges(); err != nil {
		log.Error("cannot drop root privileges", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The watch[...] recovery rules run beside the listener.
	watch := &watcher{log: log}
	watch.start(ctx, c)
	defer watch.stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			log.Info("SIGHUP: reloading configuration")
			srv.Reload()
			watch.reload(ctx, *file)
		}
	}()
	if err := srv.Serve(ctx); err != nil {
		log.Error("serving stopped", "err", err)
		return 2
	}
	return 0
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func checkConfigMain(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("check-config", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.StringP("config", "c", "/etc/nagios/nrpe.cfg", "nrpe.cfg to check")
	if err := fs.Parse(args); err != nil {
		return 3
	}
	c, err := config.Load(*file)
	for _, w := range c.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stdout, "error: %s\n", line)
		}
		return 1
	}
	names := make([]string, 0, len(c.Commands))
	for n := range c.Commands {
		names = append(names, n)
	}
	loaded := heal.FromAgentConfig(c)
	rules, err := heal.ParseRules(loaded.Entries, loaded.Commands)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stdout, "error: %s\n", line)
		}
		return 1
	}
	if len(rules) > 0 {
		fmt.Fprintf(stdout, "%s: OK, %d commands, %d watch rules\n", *file, len(names), len(rules))
		return 0
	}
	fmt.Fprintf(stdout, "%s: OK, %d commands\n", *file, len(names))
	return 0
}

func defaultConfigMain(args []string, stdout, stderr io.Writer) int {
	stdout.Write(config.EmbeddedText())
	return 0
}

func versionMain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "vigil-agent %s (NRPE protocol v2/v3/v4, compatible with NRPE 4.1.0)\n", plugin.Version)
	return 0
}
