package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// TestOwnerAssistantOffAndClosedMessage: with the assistant switched off on the settings page, a
// new conversation waits; started by the API it is handed to a human instead of answered, and
// with nobody online the visitor gets the owner's closed message. Switched on again, the next new
// conversation is answered from the first message (the file's start mode, auto).
func TestOwnerAssistantOffAndClosedMessage(t *testing.T) {
	h := newHarness(t, harnessOptions{startMode: "auto",
		fake: crisptest.Options{Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: false}}}})
	const closed = "We are closed: back tomorrow at nine."
	if _, err := h.app.owners.SaveSettings(h.ctx(), testSite, bridge.WebsiteSettings{AssistantOff: true, ClosedMessage: closed}); err != nil {
		t.Fatal(err)
	}
	// The save is mirrored to Crisp as the plugin's subscription settings, which emits
	// plugin:settings:saved and lists the website with its settings.
	if got := h.fake.SubscriptionSettings(testSite); got["assistant"] != "off" || got["settings_version"] == nil {
		t.Errorf("Crisp's subscription settings = %v, want assistant off and a version", got)
	}
	if evs := h.fake.Events(0); !slices.ContainsFunc(evs, func(e crisptest.Event) bool {
		return e.Name == "plugin:settings:saved" && e.WebsiteID == testSite && strings.Contains(string(e.Data), `"assistant":"off"`)
	}) {
		t.Errorf("no plugin:settings:saved event for the website")
	}
	v := h.visitor(crisptest.VisitorInfo{})
	if _, err := v.Send("Is my order on its way?"); err != nil {
		t.Fatal(err)
	}
	h.waitTurn(v.SessionID(), "visitor", "Is my order on its way?")
	if c, _ := h.conv(v.SessionID()); c.Mode != signals.ModeWaiting {
		t.Fatalf("mode with the assistant off = %s, want waiting", c.Mode)
	}
	if _, err := h.app.bridge.Control(h.ctx(), bridge.Key{WebsiteID: testSite, SessionID: v.SessionID()}, "start", "", ""); err != nil {
		t.Fatal(err)
	}
	c := h.waitMode(v.SessionID(), signals.ModeHuman)
	if c.Reason != signals.ReasonHuman {
		t.Errorf("handover reason = %s, want human", c.Reason)
	}
	h.eventually("the owner's closed message", func() bool {
		for _, m := range h.ours(v.SessionID(), "text") {
			if contentText(m) == closed {
				return true
			}
		}
		return false
	})
	for _, m := range h.answers(v.SessionID()) {
		if strings.Contains(contentText(m), "help.nimbus.example") {
			t.Errorf("the assistant answered although switched off: %q", contentText(m))
		}
	}

	// On again, everything else as in the file.
	if _, err := h.app.owners.SaveSettings(context.Background(), testSite, bridge.WebsiteSettings{}); err != nil {
		t.Fatal(err)
	}
	w := h.visitor(crisptest.VisitorInfo{})
	if _, err := w.Send("How long does shipping take?"); err != nil {
		t.Fatal(err)
	}
	h.waitAnswers(w.SessionID(), 1)
	if c, _ := h.conv(w.SessionID()); c.Mode != signals.ModeActive {
		t.Errorf("mode after switching back on = %s, want active", c.Mode)
	}
}

// TestOwnerHelpdeskKnowledge: choosing the website's Crisp Helpdesk on the settings page syncs its
// published articles and answers from them; choosing the file's source again stops the sync and
// answers from the file's articles.
func TestOwnerHelpdeskKnowledge(t *testing.T) {
	h := newHarness(t, harnessOptions{startMode: "auto"})
	arts, err := h.fake.SeedHelpdesk(testSite, map[string]string{"llamas.md": "---\ntitle: Llama care\nurl: https://help.example/llamas\n---\n" +
		"# Llama care\n\nOur llamas are fed twice a day, at seven in the morning and at five in the afternoon.\n"})
	if err != nil || len(arts) != 1 {
		t.Fatalf("seed helpdesk: %v %v", arts, err)
	}
	if _, err := h.app.owners.SaveSettings(h.ctx(), testSite, bridge.WebsiteSettings{Knowledge: bridge.KnowledgeHelpdesk}); err != nil {
		t.Fatal(err)
	}
	h.eventually("helpdesk synced", func() bool {
		hd, ok := h.app.owners.state.Load().helpdesk[testSite]
		return ok && hd.kb.Len() > 0
	})
	v := h.visitor(crisptest.VisitorInfo{})
	if _, err := v.Send("When are the llamas fed?"); err != nil {
		t.Fatal(err)
	}
	if a := h.waitAnswers(v.SessionID(), 1); !strings.Contains(contentText(a[0]), "seven in the morning") {
		t.Fatalf("answer = %q, want the helpdesk article", contentText(a[0]))
	}
	if _, err := h.app.owners.SaveSettings(h.ctx(), testSite, bridge.WebsiteSettings{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.app.owners.state.Load().helpdesk[testSite]; ok {
		t.Fatal("the helpdesk sync is still kept after choosing the file's source")
	}
	w := h.visitor(crisptest.VisitorInfo{})
	if _, err := w.Send("How long does shipping take?"); err != nil {
		t.Fatal(err)
	}
	if a := h.waitAnswers(w.SessionID(), 1); !strings.Contains(contentText(a[0]), "/shipping") {
		t.Fatalf("answer after switching back = %q, want the file's shipping article", contentText(a[0]))
	}
}
