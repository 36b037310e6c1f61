package config

import "testing"

// The embedded default (make run) loads cleanly: no error, no warning about
// an option it does not implement, and the commands it advertises.
func TestEmbeddedDefaultLoads(t *testing.T) {
	c, err := Load(Embedded)
	if err != nil {
		t.Fatalf("embedded default: %v", err)
	}
	if len(c.Warnings) > 0 {
		t.Errorf("embedded default warns: %q", c.Warnings)
	}
	for _, name := range []string{"check_load", "check_memory", "check_swap", "check_disk", "check_inodes", "check_containers"} {
		if _, ok := c.Commands[name]; !ok {
			t.Errorf("embedded default lacks command[%s]", name)
		}
	}
	if c.ServerAddress != "127.0.0.1" || c.DontBlameNRPE {
		t.Errorf("embedded default must listen on loopback with arguments off: address %q, dont_blame_nrpe %v", c.ServerAddress, c.DontBlameNRPE)
	}
}
