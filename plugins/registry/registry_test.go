package registry

import "testing"

// Every registered constructor builds a plugin whose Program is the name it
// is registered under: the agent matches command lines by that name.
func TestRegisteredNamesMatchPrograms(t *testing.T) {
	if len(Names()) == 0 {
		t.Fatal("no plugin registered")
	}
	for _, name := range Names() {
		newPlugin, _ := Lookup(name)
		if p := newPlugin(); p.Program != name {
			t.Errorf("%s builds a plugin named %q", name, p.Program)
		}
	}
	if _, ok := Lookup("check_nonexistent"); ok {
		t.Error("Lookup found an unregistered name")
	}
}
