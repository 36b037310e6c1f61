// Command check_kafka_lag reports Kafka consumer-group lag in messages and
// seconds, and whether the groups are moving.
package main

import (
	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func main() { plugin.Main(kafkalag.New()) }
