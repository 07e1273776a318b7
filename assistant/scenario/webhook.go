package scenario

import (
	"fmt"
	"maps"
	"slices"
)

// A webhook block hands the answers collected so far to the website's own system and waits for its
// reply, which drives the next block:
//
//	- id: book
//	  kind: webhook
//	  webhook: booking              # the name of an endpoint in the website's configuration
//	  next: booked                  # the reply names no branch (or an unknown one)
//	  branches: {full: ask_date}    # reply branch -> block
//	  failed: human                 # the call failed for good (retries, deadline, a refusal)
//
// Run stops at the block with a StepWebhook step (cursor waiting at the block); the bridge performs
// the call and feeds its outcome back as a WebhookResult. While the call is in flight, the
// visitor's messages are not answers and Resume sends nothing again: the call is already on its way.

// WebhookResult is the outcome of a webhook block's call: Failed when it failed for good, else the
// reply's message (shown to the visitor), data (set in the session) and branch.
type WebhookResult struct {
	Block   string // the webhook block's id
	Failed  bool
	Message string
	Data    map[string]string
	Branch  string
}

func (WebhookResult) input() {}

// WebhookEndpoints returns the endpoint names the program's webhook blocks call, sorted, so that the
// configuration can check each one is defined.
func (p *Program) WebhookEndpoints() []string {
	var out []string
	for i := range p.Blocks {
		if b := &p.Blocks[i]; b.Kind == KindWebhook && !slices.Contains(out, b.Webhook) {
			out = append(out, b.Webhook)
		}
	}
	slices.Sort(out)
	return out
}

// answerKeys returns the data keys pickers and fields store answers in, in program order.
func (p *Program) answerKeys() []string {
	var out []string
	for i := range p.Blocks {
		for _, t := range p.Blocks[i].Store {
			if t.DataKey != "" && !slices.Contains(out, t.DataKey) {
				out = append(out, t.DataKey)
			}
		}
	}
	return out
}

func (c *compiler) webhook(s *Spec, succ func(what, id string, required bool)) {
	if !validDataKey(s.Webhook) {
		c.fail(s, "a webhook block needs webhook: the name of an endpoint of the website's configuration (letters, digits, _ . -), got %q", s.Webhook)
	}
	succ("next", s.Next, true)
	succ("failed", s.Failed, true)
	for _, name := range slices.Sorted(maps.Keys(s.Branches)) {
		if name == "" {
			c.fail(s, "a branch has an empty name")
		}
		succ(fmt.Sprintf("branches.%s", name), s.Branches[name], true)
	}
}

// callWebhook stops the run at the webhook block i with the call for the bridge.
func (r *runner) callWebhook(i int) (Cursor, []Step) {
	b := &r.p.Blocks[i]
	answers := map[string]string{}
	for _, k := range r.p.answerKeys() {
		if v := r.dataValue(k); v != "" {
			answers[k] = v
		}
	}
	r.add(Step{Kind: StepWebhook, Block: b.ID, ID: b.StepID, Value: b.Webhook, Data: answers})
	return r.p.CursorAt(i), r.steps
}

// webhookResult applies a call's outcome to the webhook block the cursor waits at.
func (r *runner) webhookResult(cur Cursor, in WebhookResult) (Cursor, []Step) {
	i, ok := r.answering(cur, StepIDPrefix+in.Block, KindWebhook)
	if !ok {
		return r.unanswerable(cur, i)
	}
	b := &r.p.Blocks[i]
	if in.Failed {
		return r.from(b.Failed)
	}
	if in.Message != "" {
		r.add(Step{Kind: StepSendText, Block: b.ID, Text: in.Message})
	}
	if len(in.Data) > 0 {
		data := maps.Clone(in.Data)
		r.add(Step{Kind: StepSetData, Block: b.ID, Data: data})
		for k, v := range data {
			r.setData(k, v)
		}
	}
	next := b.Next
	if in.Branch != "" {
		if j, ok := b.Branches[in.Branch]; ok {
			next = j
		} else {
			r.add(Step{Kind: StepIgnored, Block: b.ID, Text: fmt.Sprintf("webhook %q replied with unknown branch %q; taking next", b.ID, in.Branch)})
		}
	}
	return r.from(next)
}
