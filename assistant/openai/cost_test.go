package openai_test

import (
	"context"
	"math"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
)

// typicalConversation is six visitor turns of a support chat on the demo knowledge base.
var typicalConversation = []string{
	"Hi! How long does delivery take to France?",
	"And is shipping free for subscriptions?",
	"Can I pause my subscription in August while I'm on holiday?",
	"How do I skip just one delivery?",
	"Do you accept PayPal?",
	"Great, thanks, that's all!",
}

// runConversation plays the six turns through the real assistant, client and fake server (echo
// mode, which reports tokens estimated at four characters each) and returns the summed usage.
func runConversation(tb testing.TB, a *assistant.Assistant) assistant.Usage {
	tb.Helper()
	var total assistant.Usage
	var history []assistant.Turn
	for _, text := range typicalConversation {
		history = append(history, assistant.Turn{Role: assistant.RoleVisitor, Text: text})
		ans, err := a.Reply(context.Background(), assistant.Question{
			WebsiteID: "demo", SessionID: "s", Language: "en", History: history,
			ConversationTokens: total.Total(),
		})
		if err != nil {
			tb.Fatalf("reply to %q: %v", text, err)
		}
		history = append(history, assistant.Turn{Role: assistant.RoleAssistant, Text: ans.Text})
		total.PromptTokens += ans.Usage.PromptTokens
		total.CompletionTokens += ans.Usage.CompletionTokens
		total.CostUSD += ans.Usage.CostUSD
	}
	return total
}

func costSetup(tb testing.TB) *assistant.Assistant {
	tb.Helper()
	srv := openaitest.New()
	if err := srv.Start(""); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	c, err := openai.New(openai.Config{BaseURL: srv.URL(), Model: "gpt-4o-mini"})
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := assistant.LoadKnowledgeBase("../testdata/kb-demo")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := assistant.Config{Default: assistant.Website{
		Prices: map[string]assistant.Price{"gpt-4o-mini": {Prompt: 0.15, Completion: 0.60}},
	}}
	a, err := assistant.New(cfg, c, kb)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestTypicalConversationCost(t *testing.T) {
	u := runConversation(t, costSetup(t))
	want := assistant.Price{Prompt: 0.15, Completion: 0.60}.Cost(u.PromptTokens, u.CompletionTokens)
	if u.PromptTokens == 0 || u.CompletionTokens == 0 || math.Abs(u.CostUSD-want) > 1e-12 {
		t.Fatalf("usage %+v, want tokens and cost = usage x price ($%.6f)", u, want)
	}
	t.Logf("typical 6-turn conversation, gpt-4o-mini ($0.15/$0.60 per 1M): %d prompt + %d completion tokens = $%.5f",
		u.PromptTokens, u.CompletionTokens, u.CostUSD)
}

// BenchmarkTypicalConversation prints the tokens and dollars of a 6-turn conversation (figure
// "model cost per typical 6-turn conversation", target <= $0.01).
func BenchmarkTypicalConversation(b *testing.B) {
	a := costSetup(b)
	var u assistant.Usage
	for b.Loop() {
		u = runConversation(b, a)
	}
	b.ReportMetric(float64(u.PromptTokens), "prompt_tokens/conv")
	b.ReportMetric(float64(u.CompletionTokens), "completion_tokens/conv")
	b.ReportMetric(u.CostUSD, "USD/conv")
}
