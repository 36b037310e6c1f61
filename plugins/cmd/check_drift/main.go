// Command check_drift is the drift check as a Nagios plugin; see
// plugins/drift.
package main

import (
	"github.com/vigil-monitoring/vigil/plugins/drift"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func main() { plugin.Main(drift.New()) }
