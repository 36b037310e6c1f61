// Command vigil-heal-dev is a temporary stand-in for `vigil-agent heal`
// until the heal command is wired into vigil-agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-monitoring/vigil/agent/heal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := heal.CLI{}.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
