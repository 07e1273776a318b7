package main

// Catch-up after a gap (issue 13, point 3): after every RTM (re)connection, and at start-up with
// hooks only, the Reconciler reads through Crisp's REST API what the websites' conversations received
// since the last event seen, and feeds it to the bridge; the wiring is here to keep app.go small.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

// openCatchup opens the Reconciler over the REST client. Its cursors are the store's when the store
// keeps them (bridge.Cursors), else those given, else they live in memory: reconnects are caught up,
// restarts are not.
func (a *app) openCatchup(given bridge.Cursors) error {
	cursors, ok := any(a.store).(bridge.Cursors)
	switch {
	case ok:
	case given != nil:
		cursors = given
	default:
		a.log.Warn("catch-up cursors kept in memory: a restart will not catch up the downtime")
		cursors = &memCursors{m: map[string]int64{}}
	}
	src := &crisp.Catchup{Client: a.client, Logger: a.log.With("component", "catchup")}
	r, err := bridge.OpenReconciler(bridge.ReconcilerOptions{
		Handler: servedOnly{a.bridge, a.served}, Cursors: cursors, LookBack: a.cfg.Crisp.CatchupLookBack, Source: src,
		Websites: a.servedWebsites, Logger: a.log.With("component", "catchup"),
	})
	if err != nil {
		return err
	}
	a.catchup = r
	a.metrics.GaugeFunc("signalbridge_catchup_gap_open", "1 while a catch-up after a reconnect or start is owed or running.", func() float64 {
		if r.GapOpen() {
			return 1
		}
		return 0
	})
	a.metrics.CounterFunc("signalbridge_catchup_rest_calls_total", "REST calls made by catch-ups.", func() float64 { return float64(src.Calls()) })
	return nil
}

// servedWebsites returns the configured websites and, with a plugin token, those that installed the
// plugin. A failed listing is logged and returned with the configured websites: those and the ones
// seen in events are caught up, and the catch-up fails so that it is tried again (its gap stays
// open) rather than taking the listing's websites for caught up.
func (a *app) servedWebsites(ctx context.Context) ([]string, error) {
	var out []string
	for id := range a.cfg.Websites {
		if id != "default" {
			out = append(out, id)
		}
	}
	if a.client.Tier() == "plugin" && a.cfg.AllowUnknown {
		// After a restart this listing is the only source of the websites to catch up (those seen
		// in events are remembered in memory): try it a few times before giving up on it.
		var ws []crisp.InstalledWebsite
		var err error
		for attempt := range 3 {
			if ws, err = a.client.AllInstalledWebsites(ctx, false); err == nil || ctx.Err() != nil {
				break
			}
			select {
			case <-time.After(time.Duration(200<<attempt) * time.Millisecond):
			case <-ctx.Done():
			}
		}
		if err != nil {
			a.log.Warn("catch-up: list installed websites", "err", err)
			return out, fmt.Errorf("list installed websites: %w", err)
		}
		for _, w := range ws {
			out = append(out, w.WebsiteID)
		}
	}
	return out, nil
}

// observed is the bridge as the web server sees it: every hook it accepts also moves the catch-up
// cursor.
type observed struct {
	*bridge.Bridge
	catchup *bridge.Reconciler
	served  func(websiteID string) bool
}

// HandleEvent hands the event to the bridge and, once accepted, to the catch-up. An event of a
// website not served is accepted (Crisp need not retry it) and dropped.
func (o observed) HandleEvent(ctx context.Context, ev bridge.Event) error {
	if !o.served(ev.WebsiteID) {
		return nil
	}
	if err := o.Bridge.HandleEvent(ctx, ev); err != nil {
		return err
	}
	o.catchup.Observe(ev)
	return nil
}

// memCursors keeps the catch-up cursors in memory, for stores that do not keep them.
type memCursors struct {
	mu sync.Mutex
	m  map[string]int64
}

// Cursor returns the value of name, 0 when none.
func (c *memCursors) Cursor(_ context.Context, name string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name], nil
}

// SetCursor raises name to v.
func (c *memCursors) SetCursor(_ context.Context, name string, v int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v > c.m[name] {
		c.m[name] = v
	}
	return nil
}

// servedOnly drops the caught-up events of websites not served.
type servedOnly struct {
	*bridge.Bridge
	served func(websiteID string) bool
}

// HandleEvent hands the event to the bridge when its website is served.
func (s servedOnly) HandleEvent(ctx context.Context, ev bridge.Event) error {
	if !s.served(ev.WebsiteID) {
		return nil
	}
	return s.Bridge.HandleEvent(ctx, ev)
}
