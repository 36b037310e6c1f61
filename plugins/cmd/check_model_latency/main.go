// Command check_model_latency checks how fast a model server answers, by
// probing it with inference requests or by reading its latency histograms.
package main

import (
	"github.com/vigil-monitoring/vigil/plugins/latency"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func main() { plugin.Main(latency.New()) }
