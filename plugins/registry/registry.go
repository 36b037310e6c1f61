// Package registry lists vigil's own plugins by program name, so that the
// agent can run them in-process instead of forking their binaries.
//
// Adding a plugin: import its package here and add its New to plugins.
package registry

import (
	"sort"

	"github.com/vigil-monitoring/vigil/plugins/container"
	"github.com/vigil-monitoring/vigil/plugins/drift"
	"github.com/vigil-monitoring/vigil/plugins/host"
	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/latency"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// plugins maps a program's base name (as installed: check_host) to the
// constructor of its plugin. Each call returns a fresh *plugin.Plugin with
// its own flag storage, so concurrent in-process runs share nothing.
var plugins = map[string]func() *plugin.Plugin{
	"check_container":     container.New,
	"check_drift":         drift.New,
	"check_host":          host.New,
	"check_kafka_lag":     kafkalag.New,
	"check_model_latency": latency.New,
}

// Lookup returns the constructor for a program name.
func Lookup(program string) (func() *plugin.Plugin, bool) {
	f, ok := plugins[program]
	return f, ok
}

// Names lists the registered program names, sorted.
func Names() []string {
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
