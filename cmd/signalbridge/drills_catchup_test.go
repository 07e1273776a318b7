package main

import (
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// Catch-up drills: events emitted while the product has no RTM socket are never replayed by Crisp;
// the REST catch-up after the reconnect (or the restart) finds them and feeds them once.

// TestDrillRTMOutageCatchup: an RTM outage (Crisp refuses the socket) while visitors write in an
// existing and in a new conversation, over RTM only. After the reconnect both are answered exactly
// once, and a second catch-up replaying the same window answers nothing more.
func TestDrillRTMOutageCatchup(t *testing.T) {
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "auto"}, nil)
	existing := h.visitor(crisptest.VisitorInfo{})
	h.roundTrip(existing, drillQuestions[0])

	down := time.Now()
	h.fake.SetRTMDown(true)
	h.eventually("rtm socket down", func() bool { return !h.app.rtm.Connected() && h.fake.RTMConnections() == 0 })
	mustSend(t, existing, drillQuestions[1])
	fresh := h.visitor(crisptest.VisitorInfo{})
	mustSend(t, fresh, drillQuestions[2])
	// The outage lasts until the product has been refused twice (about 1.5 s with its back-off):
	// long enough that only a catch-up can bring the two messages.
	h.eventually("two refused reconnections", func() bool { return h.fake.RTMRefused() >= 2 })
	if n := len(h.answers(existing.SessionID())) + len(h.answers(fresh.SessionID())); n != 1 {
		t.Fatalf("%d answers during the outage, want only the one before it", n)
	}
	restRead := h.fake.CallCount("GET", "/messages") + h.fake.CallCount("GET", "/conversations/")
	h.fake.SetRTMDown(false)
	outage := time.Since(down)
	h.eventually("rtm reconnected", func() bool { return h.app.rtm.Connected() })
	up := time.Now()

	h.waitAnswers(existing.SessionID(), 2)
	h.waitAnswers(fresh.SessionID(), 1)
	answered := time.Since(up)
	calls := h.fake.CallCount("GET", "/messages") + h.fake.CallCount("GET", "/conversations/") - restRead

	// Another catch-up over the same window (as after one more reconnect): replays are skipped.
	rep, err := h.app.catchup.CatchUp(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fed == 0 {
		t.Fatalf("second catch-up fed nothing (%+v): the replay was not exercised", rep)
	}
	// Barrier: once a fresh message is answered in each conversation, everything fed before it was
	// processed.
	h.roundTrip(existing, drillQuestions[3])
	h.roundTrip(fresh, drillQuestions[4])
	if got := len(h.answers(existing.SessionID())); got != 3 {
		t.Errorf("existing conversation: %d answers, want 3 (one per visitor message): %q", got, answerTexts(h.answers(existing.SessionID())))
	}
	if got := len(h.answers(fresh.SessionID())); got != 2 {
		t.Errorf("new conversation: %d answers, want 2: %q", got, answerTexts(h.answers(fresh.SessionID())))
	}
	last, _ := h.app.catchup.Last()
	t.Logf("RTM outage %s (%d refused reconnections): both missed messages answered %s after the reconnection; "+
		"first catch-up REST reads %d (list + messages, installed-websites listing aside); replay: %d events read, %d fed, 0 answered",
		outage.Round(time.Millisecond), h.fake.RTMRefused(), answered.Round(time.Millisecond), calls, last.Read, last.Fed)
}

// TestDrillRestartCatchup: the product is stopped, visitors write in an existing and in a new
// conversation, the product starts again: both are answered exactly once. The catch-up cursors are
// the store's when it keeps them (bridge.Cursors); until then the drill keeps them across the restart
// itself, as a durable store would.
func TestDrillRestartCatchup(t *testing.T) {
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "auto"}, nil)
	if _, ok := any(h.app.store).(bridge.Cursors); !ok {
		h.close()
		h.opt.cursors = &memCursors{m: map[string]int64{}}
		h.open()
	}
	existing := h.visitor(crisptest.VisitorInfo{})
	h.roundTrip(existing, drillQuestions[0])
	h.close()
	mustSend(t, existing, drillQuestions[1])
	fresh := h.visitor(crisptest.VisitorInfo{})
	mustSend(t, fresh, drillQuestions[2])
	start := time.Now()
	h.open()
	h.waitAnswers(existing.SessionID(), 2)
	h.waitAnswers(fresh.SessionID(), 1)
	answered := time.Since(start)
	h.roundTrip(existing, drillQuestions[3])
	h.roundTrip(fresh, drillQuestions[4])
	if e, f := len(h.answers(existing.SessionID())), len(h.answers(fresh.SessionID())); e != 3 || f != 2 {
		t.Fatalf("answers %d and %d, want 3 and 2 (each visitor message once)", e, f)
	}
	rep, _ := h.app.catchup.Last()
	t.Logf("restart: both messages written while the product was down answered %s after it started (catch-up read %d events, fed %d)",
		answered.Round(time.Millisecond), rep.Read, rep.Fed)
}

// TestDrillRTMOutagePauseThenMessage: during an RTM outage a Bot scenario pauses the assistant and
// then the visitor writes (for the human). The catch-up replays the pause before the message, so the
// assistant does not answer what was meant for a human.
func TestDrillRTMOutagePauseThenMessage(t *testing.T) {
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "auto"}, nil)
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	h.roundTrip(v, drillQuestions[0])

	h.fake.SetRTMDown(true)
	h.eventually("rtm socket down", func() bool { return !h.app.rtm.Connected() && h.fake.RTMConnections() == 0 })
	mustSetData(t, v, map[string]any{"enum": "pause_chatbot"})
	mustSend(t, v, "I want to talk to Alex please")
	h.eventually("a refused reconnection", func() bool { return h.fake.RTMRefused() >= 1 })
	h.fake.SetRTMDown(false)

	h.waitTurn(s, "visitor", "I want to talk to Alex please")
	c := h.waitMode(s, signals.ModePaused)
	if c.ReplyDue != 0 {
		t.Fatalf("an answer is owed (ReplyDue %d) to a message written after the pause", c.ReplyDue)
	}
	if n := len(h.answers(s)); n != 1 {
		t.Fatalf("%d answers, want only the one before the outage", n)
	}
	// The pause was applied before the message (at the catch-up's start), not after it as a late
	// cancel of an answer in flight.
	c, audit := h.conv(s)
	var pausedAt, wroteAt int64
	for _, a := range audit {
		if a.To == signals.ModePaused {
			pausedAt = a.At
		}
	}
	for _, tr := range c.Transcript {
		if tr.Text == "I want to talk to Alex please" {
			wroteAt = tr.At
		}
	}
	if pausedAt == 0 || wroteAt == 0 || pausedAt >= wroteAt {
		t.Fatalf("pause at %d, message at %d: want the pause first", pausedAt, wroteAt)
	}
}
