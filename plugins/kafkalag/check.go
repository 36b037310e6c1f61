package kafkalag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Check runs one check: it reads the groups' offsets, measures lag in
// messages and seconds, compares with the previous runs and judges.
func Check(ctx context.Context, o Options) plugin.Result {
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
	if !o.NoTimeLag {
		measureSeconds(ctx, cl, snap, now)
	}

	var notes []string
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
	if ctx.Err() != nil && !o.NoTimeLag {
		notes = append(notes, "lag in seconds incomplete: ran out of time while fetching records")
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
	addr, connErr, dialed, connected := log.snapshot()
	brokers := strings.Join(o.Brokers, ",")
	if authError(err) != nil {
		return plugin.Unknownf("not authorised: %v", err)
	}
	if !connected {
		switch {
		case connErr != nil && strings.Contains(connErr.Error(), "TLS handshake"):
			return plugin.Unknownf("TLS handshake with %s failed: %v", addr, unwrapAll(connErr))
		case dialed && o.SASLMechanism != "":
			return plugin.Unknownf("SASL authentication as %q failed at %s: %v", o.SASLUser, addr, reason(connErr, err))
		case dialed:
			return plugin.Unknownf("%s accepted the connection but the Kafka handshake failed: %v (TLS or SASL required?)", addr, reason(connErr, err))
		}
		why := reason(connErr, err)
		if errors.Is(err, context.DeadlineExceeded) && connErr == nil {
			why = "no answer"
		}
		return plugin.Result{Status: o.UnreachableState, Summary: fmt.Sprintf("no broker reachable (%s): %v", brokers, why)}
	}
	if ctx.Err() != nil {
		return plugin.Unknownf("timed out: %v", err)
	}
	return plugin.Unknownf("%v", err)
}

// reason prefers the connection error, which says why ("connection
// refused"), over the request's ("context deadline exceeded").
func reason(connErr, reqErr error) string {
	if connErr != nil {
		return unwrapAll(connErr).Error()
	}
	return reqErr.Error()
}

func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		// Keep the outermost error that still says something of its own.
		if strings.Contains(err.Error(), ": ") && !strings.HasSuffix(err.Error(), next.Error()) {
			return err
		}
		err = next
	}
}
