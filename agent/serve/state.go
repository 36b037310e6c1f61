package serve

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/vigil-monitoring/vigil/agent/config"
	"github.com/vigil-monitoring/vigil/agent/run"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// state is everything one configuration decides. A reload builds a new
// state and swaps it in whole; connections in flight keep the one they
// started with.
type state struct {
	cfg    *config.Config
	acl    *ACL
	tls    *tls.Config // nil: plaintext
	runner *run.Runner
}

// buildState turns a parsed configuration into a serving state. It fails
// (and a reload keeps the old state) on anything that would break serving:
// a bad allowed_hosts entry, a certificate that does not load, an unknown
// nrpe_user.
//
// fixedTLS, when set, is the TLS configuration read at start before the
// agent dropped root: it is used as is, since the key may be readable by
// root alone.
func buildState(c *config.Config, log *slog.Logger, slots chan struct{}, fixedTLS *tls.Config) (*state, []string, error) {
	var notes []string
	acl, err := ParseACL(c.AllowedHosts)
	if err != nil {
		return nil, nil, err
	}
	s := &state{cfg: c, acl: acl}
	if c.SSLEnabled && fixedTLS != nil {
		s.tls = fixedTLS
	} else if c.SSLEnabled {
		tc, note, err := tlsConfig(c)
		if err != nil {
			return nil, nil, err
		}
		s.tls = tc
		if note != "" {
			notes = append(notes, note)
		}
	}
	cred, home, name, err := checkUser(c)
	if err != nil {
		return nil, nil, err
	}
	if cred == nil && c.NrpeUser != "" && c.NrpeUser != name {
		notes = append(notes, fmt.Sprintf("nrpe_user=%s has no effect: the agent is not root, checks run as %s", c.NrpeUser, name))
	}
	commands := make(map[string]string, len(c.Commands))
	for n, cmd := range c.Commands {
		commands[n] = cmd.Line
	}
	s.runner = &run.Runner{
		Policy: run.Policy{
			NastyMetachars:               c.NastyMetachars,
			AllowArguments:               c.DontBlameNRPE,
			AllowBashCommandSubstitution: c.AllowBashCommandSubstitution,
		},
		Prefix:    c.CommandPrefix,
		Commands:  commands,
		Timeout:   c.CommandTimeout,
		InProcess: c.InProcess,
		Process: run.ProcessOptions{
			Env:        run.CleanEnv(home, name, c.KeepEnvVars),
			Credential: cred,
			MaxOutput:  c.MaxOutput,
			MaxStderr:  4096,
			KillGrace:  time.Second,
		},
		Log:         log,
		VersionText: fmt.Sprintf("NRPE v%s (vigil-agent %s)", run.StockVersion, plugin.Version),
		Slots:       slots,
	}
	return s, notes, nil
}

// checkUser decides who external checks run as. Started as root, the agent
// runs them as nrpe_user/nrpe_group and, like the stock daemon, refuses to
// run them as root: both must be set. Started as another user, checks run
// as that user and the two keys must name it or be unset.
func checkUser(c *config.Config) (*syscall.Credential, string, string, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, "", "", nil
		}
		return nil, u.HomeDir, u.Username, nil
	}
	if c.NrpeUser == "" || c.NrpeGroup == "" {
		return nil, "", "", fmt.Errorf("running as root, nrpe_user and nrpe_group must both be set: checks never run as root")
	}
	u, err := lookupUser(c.NrpeUser)
	if err != nil {
		return nil, "", "", err
	}
	g, err := lookupGroup(c.NrpeGroup)
	if err != nil {
		return nil, "", "", err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	if uid == 0 || gid == 0 {
		return nil, "", "", fmt.Errorf("nrpe_user/nrpe_group resolve to root: checks never run as root")
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: supplementaryGroups(u, gid)}, u.HomeDir, u.Username, nil
}

// supplementaryGroups is what initgroups(3) gives the stock daemon: the
// user's groups from /etc/group plus nrpe_group. Without them a check run
// as nagios loses, say, the docker group an administrator granted it.
func supplementaryGroups(u *user.User, gid int) []uint32 {
	groups := []uint32{uint32(gid)}
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil && g != gid && g != 0 {
			groups = append(groups, uint32(g))
		}
	}
	return groups
}

// DropPrivileges switches the whole process, started as root, to
// nrpe_user/nrpe_group and that user's groups, as the stock daemon does once
// its port is bound. After it the agent, its in-process checks, the checks
// it forks and its watch rules all run as that user: an in-process check has
// no more rights than the same check forked. Started as another user it
// does nothing. It returns what it did, for the log.
func DropPrivileges(c *config.Config) (string, error) {
	if os.Geteuid() != 0 {
		return "", nil
	}
	cred, _, name, err := checkUser(c)
	if err != nil {
		return "", err
	}
	groups := make([]int, len(cred.Groups))
	for i, g := range cred.Groups {
		groups[i] = int(g)
	}
	// Order matters: groups and gid can only be changed while still root.
	if err := syscall.Setgroups(groups); err != nil {
		return "", fmt.Errorf("setgroups %v: %w", groups, err)
	}
	if err := syscall.Setgid(int(cred.Gid)); err != nil {
		return "", fmt.Errorf("setgid %d: %w", cred.Gid, err)
	}
	if err := syscall.Setuid(int(cred.Uid)); err != nil {
		return "", fmt.Errorf("setuid %d: %w", cred.Uid, err)
	}
	return fmt.Sprintf("dropped root: running as %s (uid %d, gid %d, groups %v)", name, cred.Uid, cred.Gid, groups), nil
}

func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.Atoi(s); err == nil {
		if u, err := user.LookupId(s); err == nil {
			return u, nil
		}
	}
	u, err := user.Lookup(s)
	if err != nil {
		return nil, fmt.Errorf("nrpe_user: %w", err)
	}
	return u, nil
}

func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.Atoi(s); err == nil {
		if g, err := user.LookupGroupId(s); err == nil {
			return g, nil
		}
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return nil, fmt.Errorf("nrpe_group: %w", err)
	}
	return g, nil
}
