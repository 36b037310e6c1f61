module github.com/vigil-monitoring/vigil

go 1.26.0

require (
	github.com/spf13/pflag v1.1.0
	gonum.org/v1/gonum v0.17.0
)
