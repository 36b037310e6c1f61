// Command vigil-agent is a drop-in NRPE daemon: it reads nrpe.cfg and
// answers stock check_nrpe, and carries a check_nrpe-compatible client.
//
//	vigil-agent serve -c /etc/nagios/nrpe.cfg [-n]
//	vigil-agent query -H host [-p port] [-c command [-a args...]] [-n] [-2|-3]
//	vigil-agent check-config -c /etc/nagios/nrpe.cfg
//	vigil-agent heal --once [-c FILE] | --once --container NAME | --act RULE | --status | --reset RULE
//	vigil-agent serve --default-config
//	vigil-agent default-config
//	vigil-agent version
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// subcommand is one verb of vigil-agent. New verbs (the recovery work's
// "heal") are added to the subcommands table; each gets its own flag set
// and returns the process exit code.
type subcommand struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var subcommands = map[string]subcommand{
	"serve":          {"serve NRPE from an nrpe.cfg (foreground)", serveMain},
	"query":          {"query an NRPE daemon like check_nrpe", queryMain},
	"check-config":   {"check an nrpe.cfg and list every error with its line", checkConfigMain},
	"version":        {"print the version", versionMain},
	"default-config": {"print the embedded default configuration", defaultConfigMain},
	"heal":           {"restart-on-failure recovery: --once (cron), --act (event handler), --status, --reset", healMain},
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 3
		}
		return 0
	}
	sub, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vigil-agent: unknown subcommand %q\n", args[0])
		usage(stderr)
		return 3
	}
	return sub.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: vigil-agent <subcommand> [options]\n\nSubcommands:")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, subcommands[n].summary)
	}
	fmt.Fprintln(w, "\nRun vigil-agent <subcommand> -h for its options.")
}
