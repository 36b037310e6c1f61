package run

import (
	"debug/buildinfo"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// vigilCommands is the package path under which vigil's plugin binaries
// are built; a binary whose Go build info names a main package there is one
// of vigil's plugins.
const vigilCommands = "github.com/vigil-monitoring/vigil/plugins/cmd/"

// Identifier tells which of vigil's plugins a program file is, by reading
// the Go build information embedded in it, never by its file name:
// Debian's /usr/lib/nagios/plugins/check_host is a link to check_icmp, and
// vigil's check_host is installed as check_vigil_host. Answers are cached
// per path and refreshed when the file's size or modification time changes,
// so an upgrade is noticed on the next request.
type Identifier struct {
	mu    sync.Mutex
	cache map[string]identity
}

type identity struct {
	size  int64
	mtime time.Time
	name  string // "" when not a vigil plugin
}

// defaultIdentifier is shared by every Runner that sets none: the cache
// outlives reloads.
var defaultIdentifier = &Identifier{}

// Plugin returns the plugin name ("check_host") a program file was built
// as, or "" when it is not one of vigil's plugins (or cannot be read).
func (id *Identifier) Plugin(program string) string {
	p, err := lookPath(program)
	if err != nil {
		return ""
	}
	st, err := os.Stat(p) // follows links, as exec does
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	id.mu.Lock()
	if c, ok := id.cache[p]; ok && c.size == st.Size() && c.mtime.Equal(st.ModTime()) {
		id.mu.Unlock()
		return c.name
	}
	id.mu.Unlock()
	name := ""
	if bi, err := buildinfo.ReadFile(p); err == nil && strings.HasPrefix(bi.Path, vigilCommands) {
		name = path.Base(bi.Path)
	}
	id.mu.Lock()
	if id.cache == nil {
		id.cache = map[string]identity{}
	}
	id.cache[p] = identity{st.Size(), st.ModTime(), name}
	id.mu.Unlock()
	return name
}
