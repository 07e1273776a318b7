package bridge

import (
	"context"

	"github.com/signalbridge/signalbridge/signals"
)

// runSteps feeds a visitor input to the guided steps; it reports whether the steps consumed it.
func (b *Bridge) runSteps(ctx context.Context, st *step, in StepInput) bool {
	res, handled, err := st.site.Steps.Input(ctx, &st.conv, in)
	if err != nil {
		b.log.Error("guided steps", "website", st.conv.WebsiteID, "session", st.conv.SessionID, "err", err)
		return false
	}
	if !handled {
		return false
	}
	b.applySteps(st, res)
	return true
}

// enterSteps starts or resumes the guided steps at the stored index, after a start (signal, note
// command, admin API, timer). It only decides: the steps' messages and meta are performed with the
// rest of the step after its commit, once.
func (b *Bridge) enterSteps(st *step) {
	res, err := st.site.Steps.Enter(b.ctx, &st.conv)
	if err != nil {
		b.log.Error("guided steps", "website", st.conv.WebsiteID, "session", st.conv.SessionID, "err", err)
		return
	}
	b.applySteps(st, res)
}

// applySteps records what the steps decided; the messages and meta are performed after the commit.
func (b *Bridge) applySteps(st *step, res StepResult) {
	if res.Note != "" {
		b.log.Warn("guided steps", "website", st.conv.WebsiteID, "session", st.conv.SessionID, "note", res.Note)
	}
	st.dirty = true
	st.posts = append(st.posts, res.Messages...)
	if res.Language != "" {
		st.conv.Language = res.Language
		st.keepData(map[string]string{"language": res.Language}) // the visitor's choice (LanguageChosen)
	}
	if res.Meta.Email != "" {
		st.conv.Email = res.Meta.Email
		st.meta.Email = res.Meta.Email
	}
	if len(res.Meta.Data) > 0 {
		if st.meta.Data == nil {
			st.meta.Data = map[string]string{}
		}
		for k, v := range res.Meta.Data {
			st.meta.Data[k] = v
		}
		// Later runs (conditions, a webhook block's answers) see the steps' own answers at once,
		// not only once Crisp echoes the write back.
		st.keepData(res.Meta.Data)
	}
	st.meta.Segments = append(st.meta.Segments, res.Meta.Segments...)
	if res.Webhook != nil {
		st.addWebhook(*res.Webhook) // webhook.go
	}
	now := b.opts.Now().UnixMilli()
	switch {
	case res.Handover:
		st.conv.ScenarioIndex = -1
		st.apply(signals.Input{Kind: signals.InputHandover, Source: signals.SourceVisitor, Reason: signals.ReasonHuman, At: now, Detail: "guided steps"})
	case res.Resolve:
		st.conv.ScenarioIndex = -1
		st.resolveRequest(signals.SourceVisitor, now)
	case res.Assistant:
		st.conv.ScenarioIndex = -1
		// The visitor's question that began the steps is still unanswered: answer it now.
		if tr := st.conv.Transcript; len(tr) > 0 && tr[len(tr)-1].Role == "visitor" {
			st.apply(signals.Input{Kind: signals.InputVisitorMessage, Source: signals.SourceVisitor, At: now})
		}
	}
}
