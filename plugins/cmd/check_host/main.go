// Command check_host checks this host's load, memory, swap, disk and inodes.
package main

import (
	"github.com/vigil-monitoring/vigil/plugins/host"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func main() { plugin.Main(host.New()) }
