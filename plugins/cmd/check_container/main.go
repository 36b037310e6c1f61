// Command check_container is the Nagios plugin for Docker containers; see
// package container.
package main

import (
	"github.com/vigil-monitoring/vigil/plugins/container"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func main() { plugin.Main(container.New()) }
