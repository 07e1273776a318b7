package main

import (
	"fmt"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// BurstConfig answers a burst of visitor lines once (docs/burst.md): the answer waits until the
// visitor has been quiet (no new line, not typing) for Window, or Max after the burst's first line.
//
//	burst: {window: 700ms, max: 4s}
type BurstConfig struct {
	Window time.Duration `yaml:"window"` // added latency of a single line: 100ms to 1s
	Max    time.Duration `yaml:"max"`    // longest wait after the first line: window to 10s
}

func (c Config) validateBurst(p string, w WebsiteConfig) []error {
	b := w.Burst
	if b == nil {
		return nil
	}
	var errs []error
	if b.Window < 100*time.Millisecond || b.Window > time.Second {
		errs = append(errs, c.fieldProblem(p+".burst.window", fmt.Sprintf("must be between 100ms and 1s (it is added to every answer), got %s", b.Window)))
	}
	if b.Max < b.Window || b.Max > 10*time.Second {
		errs = append(errs, c.fieldProblem(p+".burst.max", fmt.Sprintf("must be between the window (%s) and 10s, got %s", b.Window, b.Max)))
	}
	return errs
}

func burstPolicy(w WebsiteConfig) *bridge.Burst {
	if w.Burst == nil {
		return nil
	}
	return &bridge.Burst{Window: w.Burst.Window, Max: w.Burst.Max}
}
