package config

import (
	_ "embed"
	"os"
)

// Embedded names the configuration built into the binary, for
// `vigil-agent serve --default-config` (and `make run`): Load and a reload
// read it instead of a file.
const Embedded = "(embedded default)"

//go:embed default.cfg
var embeddedDefault []byte

// EmbeddedText returns the embedded default configuration, for operators to
// start their own from (`vigil-agent default-config`).
func EmbeddedText() []byte { return embeddedDefault }

func readConfig(name string) ([]byte, error) {
	if name == Embedded {
		return embeddedDefault, nil
	}
	return os.ReadFile(name)
}
