package openai_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
)

// These tests run the real assistant through the real go-openai client against the fake server.

func MustAssistant(t *testing.T, cfg assistant.Config, ocfg openai.Config) (*openaitest.Server, *assistant.Assistant) {
	t.Helper()
	srv, c := setup(t, ocfg)
	kb, err := assistant.LoadKnowledgeBase("../testdata/faq")
	if err != nil {
		t.Fatal(err)
	}
	a, err := assistant.New(cfg, c, kb)
	if err != nil {
		t.Fatal(err)
	}
	return srv, a
}

func question(lang, text string) assistant.Question {
	return assistant.Question{WebsiteID: "w1", SessionID: "s1", Language: lang, History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: text}}}
}

func TestReplyPlainAnswerWithCost(t *testing.T) {
	cfg := assistant.Config{Default: assistant.Website{Model: "gpt-4o-mini-2024-07-18"}}
	srv, a := MustAssistant(t, cfg, openai.Config{})
	srv.Script(openaitest.Step{
		Text:  "Delivery takes 1 to 2 working days in Spain: https://help.nimbus.example/en/shipping#delivery-times",
		Usage: &openaitest.Usage{PromptTokens: 1000, CompletionTokens: 200},
	})
	got, err := a.Reply(context.Background(), question("en", "How long does delivery take?"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Handover || got.Offline || !strings.HasPrefix(got.Text, "Delivery takes") {
		t.Errorf("Reply = %+v, want a plain model answer", got)
	}
	wantCost := (1000*0.15 + 200*0.60) / 1e6 // gpt-4o-mini by prefix
	if got.Usage.PromptTokens != 1000 || got.Usage.CompletionTokens != 200 || math.Abs(got.Usage.CostUSD-wantCost) > 1e-12 || got.Usage.Model != "gpt-4o-mini-2024-07-18" {
		t.Errorf("Usage = %+v, want 1000/200 tokens costing $%.6f", got.Usage, wantCost)
	}
	if len(got.Sources) != 1 || got.Sources[0].Title != "Shipping and delivery" {
		t.Errorf("Sources = %+v, want the cited shipping passage", got.Sources)
	}
	sys := srv.Requests()[0].Body.Messages[0].Content
	for _, want := range []string{"Answer in English.", "[1] Shipping and delivery — Delivery times", "URL: https://help.nimbus.example/en/shipping#delivery-times"} {
		if !strings.Contains(sys, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, sys)
		}
	}
}

func TestReplyToolCalls(t *testing.T) {
	tests := []struct {
		name     string
		step     openaitest.Step
		handover bool
		reason   string
		resolve  bool
	}{
		{"handover", openaitest.Call(assistant.ToolHandover, `{"reason":"wants a refund exception"}`), true, "wants a refund exception", false},
		{"handover without reason", openaitest.Call(assistant.ToolHandover, `not json`), true, "the model asked for a human", false},
		{"resolve with text", openaitest.Step{Text: "Glad to help!", ToolCalls: []openaitest.ToolCall{{Name: assistant.ToolResolve, Arguments: "{}"}}}, false, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, a := MustAssistant(t, assistant.Config{}, openai.Config{})
			srv.Script(tc.step)
			got, err := a.Reply(context.Background(), question("en", "I was charged twice"))
			if err != nil {
				t.Fatal(err)
			}
			if got.Handover != tc.handover || got.HandoverReason != tc.reason || got.Resolve != tc.resolve {
				t.Errorf("Reply = %+v, want handover %v (%q) resolve %v", got, tc.handover, tc.reason, tc.resolve)
			}
		})
	}
}

func TestReplyRetriesOnceThenFails(t *testing.T) {
	// The client does not retry by itself here, so every attempt is the assistant's.
	srv, a := MustAssistant(t, assistant.Config{}, openai.Config{Retries: -1})
	srv.Script(openaitest.Fail(500, ""), openaitest.Fail(500, ""), openaitest.Text("third time"))
	_, err := a.Reply(context.Background(), question("en", "How long does delivery take?"))
	if err == nil || !assistant.IsRetryable(err) {
		t.Fatalf("Reply = %v, want a retryable error after two failures", err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("requests = %d, want 2 (one retry)", n)
	}
}

func TestReplyRetriesAfterFailure(t *testing.T) {
	tests := []struct {
		name  string
		steps []openaitest.Step
	}{
		{"server error", []openaitest.Step{openaitest.Fail(503, ""), openaitest.Text("second try")}},
		{"timeout", []openaitest.Step{{Text: "too late", Delay: time.Minute}, openaitest.Text("second try")}},
		{"empty completion", []openaitest.Step{openaitest.Text(""), openaitest.Text("second try")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := assistant.Config{Default: assistant.Website{Timeout: 300 * time.Millisecond}}
			srv, a := MustAssistant(t, cfg, openai.Config{Retries: -1})
			srv.Script(tc.steps...)
			got, err := a.Reply(context.Background(), question("en", "How long does delivery take?"))
			if err != nil || got.Text != "second try" {
				t.Fatalf("Reply = %+v, %v; want the second attempt's answer", got, err)
			}
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("requests = %d, want 2", n)
			}
		})
	}
}

func TestReplyNonRetryableFailsAtOnce(t *testing.T) {
	srv, a := MustAssistant(t, assistant.Config{}, openai.Config{})
	srv.Script(openaitest.Fail(401, ""), openaitest.Text("never"))
	if _, err := a.Reply(context.Background(), question("en", "hello there")); err == nil {
		t.Fatal("Reply = nil error, want the 401")
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestReplyCancelled(t *testing.T) {
	srv, a := MustAssistant(t, assistant.Config{}, openai.Config{})
	srv.Script(openaitest.Step{Text: "late", Delay: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.Reply(ctx, question("en", "How long does delivery take?"))
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Reply after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Reply did not return after cancel")
	}
	if n := len(srv.Requests()); n > 1 {
		t.Errorf("requests = %d, want no retry after cancel", n)
	}
}

func TestReplyHumanPhraseSkipsModel(t *testing.T) {
	srv, a := MustAssistant(t, assistant.Config{}, openai.Config{})
	for _, text := range []string{"I want to talk to a human", "Quiero hablar con una persona", "Vull parlar amb una persona", "Je veux parler à un humain"} {
		got, err := a.Reply(context.Background(), question("", text))
		if err != nil || !got.Handover {
			t.Errorf("Reply(%q) = %+v, %v; want a handover", text, got, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestEchoModeAnswersFromPassages(t *testing.T) {
	srv, a := MustAssistant(t, assistant.Config{}, openai.Config{})
	got, err := a.Reply(context.Background(), question("en", "Do you accept PayPal?"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Text, "PayPal") || len(got.Sources) != 1 || got.Sources[0].URL != "https://help.nimbus.example/en/payments#accepted-payment-methods" {
		t.Errorf("Reply = %+v, want the payments passage with its link", got)
	}
	if got.Usage.PromptTokens == 0 || got.Usage.CompletionTokens == 0 || got.Usage.CostUSD == 0 {
		t.Errorf("Usage = %+v, want estimated tokens and a cost", got.Usage)
	}
	if srv.Pending() != 0 {
		t.Errorf("Pending = %d", srv.Pending())
	}
}

func TestReplyConcurrent(t *testing.T) {
	srv, a := MustAssistant(t, assistant.Config{}, openai.Config{})
	questions := []string{"Do you accept PayPal?", "How do I return an order?", "I forgot my password", "¿Cuánto tarda la entrega?"}
	errc := make(chan error, 16)
	for i := range 16 {
		go func() {
			ans, err := a.Reply(context.Background(), question("", questions[i%len(questions)]))
			if err == nil && ans.Text == "" {
				err = errors.New("empty answer")
			}
			errc <- err
		}()
	}
	for range 16 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Requests()); n != 16 {
		t.Errorf("requests = %d, want 16", n)
	}
}
