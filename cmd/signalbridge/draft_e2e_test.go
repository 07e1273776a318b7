package main

import (
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

func (h *harness) drafts(session string) []string {
	var out []string
	for _, m := range h.ours(session, "note") {
		if t := contentText(m); strings.HasPrefix(t, "AI draft") {
			out = append(out, t)
		}
	}
	return out
}

// TestDraftsForOperators: with drafts on, once a human owns the conversation each visitor message
// gets a draft as a private note (never a message to the visitor), charged to the conversation's
// budget; none while an operator is typing; "/ai draft" asks for one on demand.
func TestDraftsForOperators(t *testing.T) {
	model, client := slowModel(t)
	on := true
	h := handoverHarness(t, harnessOptions{completer: client, website: WebsiteConfig{Drafts: &on}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	model.Script(openaitest.Call("handover_to_human", `{"reason":"wants a person"}`))
	mustSend(t, v, "I need a person for a refund")
	h.waitMode(s, signals.ModeHuman)
	h.eventually("handover note, acknowledgement, pending", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return len(h.ours(s, "note")) == 1 && len(h.ours(s, "text")) == 1 && fc.State == "pending"
	})
	texts := len(h.ours(s, "text"))
	before, _ := h.conv(s)

	model.Script(openaitest.Text("Refunds take 5 to 7 days after we receive the item."))
	mustSend(t, v, "How long does a refund take?")
	h.eventually("a draft", func() bool { return len(h.drafts(s)) == 1 })
	if d := h.drafts(s)[0]; !strings.Contains(d, "Refunds take 5 to 7 days") || !strings.Contains(d, "not sent to the visitor") {
		t.Errorf("draft = %q", d)
	}
	if n := len(h.ours(s, "text")); n != texts {
		t.Fatalf("the visitor got %d new messages; a draft is never sent to the visitor", n-texts)
	}
	h.eventually("draft charged", func() bool { c, _ := h.conv(s); return c.TokensUsed > before.TokensUsed })
	if c, _ := h.conv(s); c.Mode != signals.ModeHuman {
		t.Fatalf("mode after a draft = %s, want human", c.Mode)
	}

	// An operator is typing: no draft.
	if err := h.fake.OperatorCompose(testSite, s, testOperator, "start"); err != nil {
		t.Fatal(err)
	}
	calls := len(model.Requests())
	mustSend(t, v, "Also, can I change the address?")
	h.waitTurn(s, "visitor", "Also, can I change the address?")
	mustSend(t, v, "hello?")
	h.waitTurn(s, "visitor", "hello?")

	// On demand, typing or not: the operator's note "/ai draft".
	model.Script(openaitest.Text("Yes, you can change the address until the order ships."))
	if _, err := h.fake.OperatorNote(testSite, s, testOperator, "/ai draft"); err != nil {
		t.Fatal(err)
	}
	h.eventually("draft on demand", func() bool { return len(h.drafts(s)) == 2 })
	// Drafts started for the two messages typed over the operator would have been asked before it.
	if n := len(model.Requests()); n != calls+1 {
		t.Fatalf("model calls since the operator started typing = %d, want 1 (the draft asked for)", n-calls)
	}
	if d := h.drafts(s)[1]; !strings.Contains(d, "change the address until the order ships") {
		t.Errorf("draft on demand = %q", d)
	}

	// The operator stops typing: the next visitor message gets its draft again.
	if err := h.fake.OperatorCompose(testSite, s, testOperator, "stop"); err != nil {
		t.Fatal(err)
	}
	model.Script(openaitest.Text("Our team replies within one business day."))
	mustSend(t, v, "When will you reply?")
	h.eventually("draft after typing stopped", func() bool { return len(h.drafts(s)) == 3 })
	if n := len(h.ours(s, "text")); n != texts {
		t.Fatalf("the visitor got %d new messages", n-texts)
	}
}

// TestDraftsOffByDefault: without drafts a human-owned conversation gets no model call at all.
func TestDraftsOffByDefault(t *testing.T) {
	model, client := slowModel(t)
	h := handoverHarness(t, harnessOptions{completer: client})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	model.Script(openaitest.Call("handover_to_human", `{"reason":"wants a person"}`))
	mustSend(t, v, "I need a person")
	h.waitMode(s, signals.ModeHuman)
	calls := len(model.Requests())
	mustSend(t, v, "How long does a refund take?")
	h.waitTurn(s, "visitor", "How long does a refund take?")
	if _, err := h.fake.OperatorNote(testSite, s, testOperator, "/ai draft"); err != nil {
		t.Fatal(err)
	}
	mustSend(t, v, "hello?")
	h.waitTurn(s, "visitor", "hello?")
	if n := len(model.Requests()); n != calls || len(h.drafts(s)) != 0 {
		t.Fatalf("model calls %d, drafts %d; want none", n-calls, len(h.drafts(s)))
	}
}
