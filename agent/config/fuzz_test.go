package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary files to the parser: it must never panic, and
// every error must carry the file and line it is about. Includes are left
// out, since they would read whatever path the fuzzer invents.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"server_port=5666\nallowed_hosts=127.0.0.1,::1\ncommand[x]=/bin/true\n",
		"command[]=\ncommand[a=b\n=\n\x00\n",
		"command_timeout=-1\nconnection_timeout=abc\nssl_version=TLSv9\n",
		"nasty_metachars=\"\\x00\\n\"\ndont_blame_nrpe=2\nwatch[w]=container=x interval=0s\n",
		"debug=1\r\nlog_facility=daemon\r\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "include") {
			return
		}
		path := filepath.Join(dir, "fuzz.cfg")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		type loaded struct {
			c   *Config
			err error
		}
		done := make(chan loaded, 1)
		go func() { c, err := Load(path); done <- loaded{c, err} }()
		var c *Config
		var err error
		select {
		case l := <-done:
			c, err = l.c, l.err
		case <-time.After(5 * time.Second):
			t.Fatalf("Load did not return within 5 s")
		}
		if c == nil {
			t.Fatalf("Load returned no Config (err %v)", err)
		}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, path+":") {
					t.Fatalf("error without file:line: %q", line)
				}
			}
		}
	})
}
