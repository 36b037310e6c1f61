package kafkalag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Check runs one check: it reads the groups' offsets, measures lag in
// messages and seconds, compares with the previous runs and judges.
func Check(ctx context.Context, o Options) plugin.Result {
	ctx = context.WithValue(ctx, startKey{}, time.Now())
	sel, err := o.validate()
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := &connectLog{}
	kopts, err := o.clientOptions(log)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return plugin.Unknownf("creating Kafka client: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	snap, err := collect(ctx, adm, &o, sel)
	if err != nil {
		return o.failure(ctx, err, log)
	}
	now := o.Now()
	var notes []string
	if !o.NoTimeLag {
		if missing, err := measureSeconds(ctx, cl, snap, now); missing > 0 {
			note := fmt.Sprintf("lag in seconds unknown for %d %s", missing, plural(missing, "partition"))
			switch {
			case ctx.Err() != nil:
				note += ": ran out of time while fetching records"
			case errors.Is(err, kerr.TopicAuthorizationFailed):
				note += ": " + shortError(err) + " (reading the record at the commit needs READ on the topic)"
			case err != nil:
				note += ": " + shortError(err)
			}
			notes = append(notes, note)
		}
	}

	if path := o.statePath(); path != "" {
		st, err := loadState(path)
		if err != nil {
			notes = append(notes, err.Error())
		}
		st.track(snap.groups, &o, now)
		if err := st.save(path); err != nil {
			notes = append(notes, err.Error())
		}
	}
	return judge(snap, &o, notes)
}

// statePath is --state-file, "auto" for a path derived from the selection,
// "" or "none" for no movement tracking.
func (o *Options) statePath() string {
	switch o.StateFile {
	case "", "none":
		return ""
	case "auto":
		return defaultStatePath(o)
	}
	return o.StateFile
}

// failure turns an error that stopped the whole check into a state: no
// broker reachable is --unreachable-state (CRITICAL), a refused login or
// handshake is UNKNOWN (the check cannot see, which says nothing about the
// consumers), running out of time names the stage.
func (o *Options) failure(ctx context.Context, err error, log *connectLog) plugin.Result {
	cs := log.snapshot()
	addr, connErr, dialed, connected := cs.addr, cs.lastErr, cs.dialed, cs.connected
	brokers := strings.Join(o.Brokers, ",")
	if authError(err) != nil {
		return plugin.Unknownf("not authorised: %s", shortError(err))
	}
	if !connected {
		switch {
		case connErr != nil && strings.Contains(connErr.Error(), "TLS handshake"):
			// A certificate problem is a configuration problem.
			return plugin.Unknownf("%v", connErr)
		case dialed && connErr != nil && o.SASLMechanism != "":
			return plugin.Unknownf("SASL %s authentication as %q failed at %s: %v", strings.ToUpper(o.SASLMechanism), o.SASLUser, addr, connErr)
		case dialed && connErr != nil:
			return plugin.Unknownf("%s accepted the connection but the Kafka handshake failed: %v", addr, connErr)
		case dialed:
			// Accepted, then silence: a hung broker is as good as down.
			return plugin.Result{Status: o.UnreachableState, Summary: fmt.Sprintf("no broker reachable (%s): connected but no answer within %s", brokers, timeoutOf(ctx))}
		}
		why := err.Error()
		if connErr != nil {
			why = connErr.Error()
		}
		return plugin.Result{Status: o.UnreachableState, Summary: fmt.Sprintf("no broker reachable (%s): %s", brokers, why)}
	}
	if ctx.Err() != nil {
		return plugin.Unknownf("timed out: %v", err)
	}
	return plugin.Unknownf("%v", err)
}

// timeoutOf says how long the check had, from the context's deadline.
func timeoutOf(ctx context.Context) string {
	if v, ok := ctx.Value(startKey{}).(time.Time); ok {
		if dl, ok := ctx.Deadline(); ok {
			return dl.Sub(v).Round(100 * time.Millisecond).String()
		}
	}
	return "the timeout"
}

type startKey struct{}
