package main

import (
	"strings"
	"testing"
	"time"
)

func TestCatchupLookBackValidation(t *testing.T) {
	for _, tt := range []struct {
		v  time.Duration
		ok bool
	}{{0, true}, {48 * time.Hour, true}, {72 * time.Hour, true}, {-time.Hour, false}, {73 * time.Hour, false}} {
		cfg := defaultConfig()
		cfg.Crisp.Identifier, cfg.Crisp.Key = "id", "key"
		cfg.Crisp.CatchupLookBack = tt.v
		err := cfg.Validate()
		if bad := err != nil && strings.Contains(err.Error(), "crisp.catchup_look_back"); bad == tt.ok {
			t.Errorf("catchup_look_back %s: err %v, want ok %v", tt.v, err, tt.ok)
		}
	}
}
