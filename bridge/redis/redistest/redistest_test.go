package redistest_test

import (
	"testing"

	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
)

func TestStartRestartStop(t *testing.T) {
	s := redistest.Start(t)
	if got := s.Do("SET", "k", "v"); got != "OK" {
		t.Fatalf("SET = %q", got)
	}
	if got := s.InfoField("persistence", "aof_enabled"); got != "1" {
		t.Errorf("aof_enabled = %q, want 1", got)
	}
	s.Restart()
	if got := s.Do("GET", "k"); got != "v" {
		t.Errorf("GET after restart = %q, want v (AOF)", got)
	}
	if len(s.AOFFiles()) == 0 {
		t.Errorf("no AOF files in %s", s.Dir())
	}
	s.Stop()
	if _, err := redistest.Ping(s.Addr()); err == nil {
		t.Error("PING after Stop answered")
	}
	s.StartAgain()
	if got := s.Do("GET", "k"); got != "v" {
		t.Errorf("GET after stop and start = %q, want v", got)
	}
}
