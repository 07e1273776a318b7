package main

import (
	"slices"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// TestFirstCalls: the open loop's attribution of a conversation's REST calls to its events: with
// one answer per event, an event's first call is the first one after it was sent and after the
// previous event's answer; in a conversation whose answers were merged, each event is charged up to
// the first call after it was sent; an event no call followed has no figure.
func TestFirstCalls(t *testing.T) {
	fake := crisptest.New(crisptest.Options{})
	visitors := []*crisptest.Visitor{fake.Visitor(testSite, "session_a", crisptest.VisitorInfo{}),
		fake.Visitor(testSite, "session_b", crisptest.VisitorInfo{}), fake.Visitor(testSite, "session_c", crisptest.VisitorInfo{})}
	t0 := time.Unix(1_700_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	call := func(method, session, what string, at int) crisptest.Call {
		return crisptest.Call{Method: method, Path: "/v1/website/" + testSite + "/conversation/" + session + "/" + what, At: ms(at)}
	}
	ev := func(conv, sched, sent int) openEvent {
		return openEvent{session: conv, sched: ms(sched), sent: ms(sent)}
	}
	events := []openEvent{
		// a and b have fewer answers than events (merged answers): first call after the send
		ev(0, 0, 1),    // a: typing at 3, answer at 5 -> 3 ms
		ev(1, 2, 2),    // b: answer at 4 -> 2 ms
		ev(0, 10, 10),  // a: answered at 15 with the next one (superseded): first call after it, 15 -> 5 ms
		ev(0, 12, 13),  // a: the same answer at 15 -> 3 ms
		ev(1, 20, 40),  // b: sent late (40, scheduled 20): answer at 41 -> 21 ms from the schedule
		ev(1, 50, 50),  // b: no call after it
		ev(0, 60, 60),  // a: a call of another website's path is not a conversation call; answer at 70 -> 10 ms
		ev(0, 100, 90), // a: sent before its schedule (cannot happen, but the sum holds): answer at 95 -> -5 ms
		// c has one answer per event: in order, although its second event was sent before the first answer
		ev(2, 200, 200), // c: typing at 201, answer at 205 -> 1 ms
		ev(2, 202, 202), // c: its calls start after the first answer: typing at 206 -> 4 ms
	}
	calls := []crisptest.Call{
		call("PATCH", "session_a", "compose", 3), call("POST", "session_a", "message", 5),
		call("POST", "session_b", "message", 4),
		call("POST", "session_a", "message", 15),
		call("POST", "session_b", "message", 41),
		{Method: "GET", Path: "/v1/website/" + testSite + "/operators/list", At: ms(61)},
		call("POST", "session_a", "message", 70),
		call("POST", "session_a", "message", 95),
		call("PATCH", "session_c", "compose", 201), call("POST", "session_c", "message", 205),
		call("PATCH", "session_c", "compose", 206), call("POST", "session_c", "message", 208),
	}
	got, merged := firstCalls(events, visitors, calls)
	want := []time.Duration{3, 2, 5, 3, 21, 10, -5, 1, 4}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) || merged != 8 {
		t.Errorf("firstCalls = %v, %d merged, want %v, 8 merged (a's and b's events)", got, merged, want)
	}
}
