package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
)

// setup starts a fake server and points a real client at it.
func setup(t *testing.T, cfg openai.Config) (*openaitest.Server, *openai.Client) {
	t.Helper()
	srv := openaitest.MustStart(t)
	cfg.BaseURL = srv.URL()
	if cfg.APIKey == "" {
		cfg.APIKey = "sk-test"
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = time.Millisecond
	}
	c, err := openai.New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return srv, c
}

var simpleRequest = assistant.CompletionRequest{
	Messages: []assistant.Message{{Role: assistant.MessageSystem, Content: "Be brief."}, {Role: assistant.MessageUser, Content: "Hi"}},
	Tools:    assistant.Tools(),
	Metadata: map[string]string{"website": "w1", "session": "session_42"},
}

func TestCompletePlainAnswer(t *testing.T) {
	srv, c := setup(t, openai.Config{
		Organization:         "org-1",
		Headers:              map[string]string{"Helicone-Auth": "Bearer hk-1"},
		MetadataHeaderPrefix: "Helicone-Property-",
	})
	srv.Script(openaitest.Step{Text: "Hello!", Usage: &openaitest.Usage{PromptTokens: 120, CompletionTokens: 7}})
	req := simpleRequest
	req.Temperature, req.MaxTokens = 0.3, 200
	got, err := c.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Hello!" || got.Usage.PromptTokens != 120 || got.Usage.CompletionTokens != 7 || got.Usage.Model != "gpt-4o-mini" {
		t.Errorf("Complete = %+v, want text, usage 120/7 and the default model", got)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	headers := map[string]string{
		"Authorization":             "Bearer sk-test",
		"Openai-Organization":       "org-1",
		"Helicone-Auth":             "Bearer hk-1",
		"Helicone-Property-Website": "w1",
		"Helicone-Property-Session": "session_42",
	}
	for k, want := range headers {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	b := r.Body
	if b.Model != "gpt-4o-mini" || b.MaxTokens != 200 || b.Temperature == nil || *b.Temperature < 0.29 || *b.Temperature > 0.31 || b.User != "session_42" {
		t.Errorf("body = model %q max %d temperature %v user %q", b.Model, b.MaxTokens, b.Temperature, b.User)
	}
	if len(b.Messages) != 2 || b.Messages[0].Role != "system" || b.Messages[1].Content != "Hi" {
		t.Errorf("messages = %+v", b.Messages)
	}
	if len(b.Tools) != 2 || b.Tools[0].Type != "function" || b.Tools[0].Function.Name != assistant.ToolHandover {
		t.Fatalf("tools = %+v", b.Tools)
	}
	var schema map[string]any
	if err := json.Unmarshal(b.Tools[0].Function.Parameters, &schema); err != nil || schema["type"] != "object" {
		t.Errorf("tool parameters = %s (%v), want a JSON schema object", b.Tools[0].Function.Parameters, err)
	}
	if s := c.Stats(); s.Requests != 1 || s.PromptTokens != 120 || s.CompletionTokens != 7 || s.Failures != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestCompleteToolCall(t *testing.T) {
	srv, c := setup(t, openai.Config{})
	srv.Script(openaitest.Call(assistant.ToolHandover, `{"reason":"refund dispute"}`))
	got, err := c.Complete(context.Background(), simpleRequest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ToolCalls) != 1 || got.ToolCalls[0].Name != assistant.ToolHandover || got.ToolCalls[0].Arguments != `{"reason":"refund dispute"}` || got.FinishReason != "tool_calls" {
		t.Errorf("Complete = %+v, want one handover tool call", got)
	}
}

func TestCompleteRetries(t *testing.T) {
	tests := []struct {
		name     string
		retries  int
		steps    []openaitest.Step
		wantErr  bool
		retry    bool // error marked retryable
		requests int
		minWait  time.Duration
	}{
		{"429 then success honours Retry-After", 2, []openaitest.Step{openaitest.Fail(429, "0.3"), openaitest.Text("ok")}, false, false, 2, 300 * time.Millisecond},
		{"two 5xx then success", 2, []openaitest.Step{openaitest.Fail(500, ""), openaitest.Fail(503, ""), openaitest.Text("ok")}, false, false, 3, 0},
		{"retries exhausted", 1, []openaitest.Step{openaitest.Fail(502, ""), openaitest.Fail(502, "")}, true, true, 2, 0},
		{"401 is not retried", 2, []openaitest.Step{openaitest.Fail(401, ""), openaitest.Text("never")}, true, false, 1, 0},
		{"400 is not retried", 2, []openaitest.Step{openaitest.Fail(400, ""), openaitest.Text("never")}, true, false, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := setup(t, openai.Config{Retries: tc.retries})
			srv.Script(tc.steps...)
			start := time.Now()
			got, err := c.Complete(context.Background(), simpleRequest)
			elapsed := time.Since(start)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Complete = %+v, %v; want error %v", got, err, tc.wantErr)
			}
			if err != nil && assistant.IsRetryable(err) != tc.retry {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, !tc.retry, tc.retry)
			}
			if err == nil && got.Text != "ok" {
				t.Errorf("Text = %q, want ok", got.Text)
			}
			if n := len(srv.Requests()); n != tc.requests {
				t.Errorf("requests = %d, want %d", n, tc.requests)
			}
			if elapsed < tc.minWait {
				t.Errorf("retried after %s, want Retry-After %s honoured", elapsed, tc.minWait)
			}
		})
	}
}

func TestRetryAfterIsCapped(t *testing.T) {
	srv, c := setup(t, openai.Config{MaxBackoff: 20 * time.Millisecond})
	srv.Script(openaitest.Fail(429, "3600"), openaitest.Text("ok"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := c.Complete(ctx, simpleRequest); err != nil || got.Text != "ok" {
		t.Fatalf("Complete = %+v, %v; want ok after a capped wait", got, err)
	}
}

func TestRetryPastDeadlineFailsFast(t *testing.T) {
	srv, c := setup(t, openai.Config{MaxBackoff: time.Hour})
	srv.Script(openaitest.Fail(429, "60"), openaitest.Text("never"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Complete(ctx, simpleRequest)
	if err == nil || !assistant.IsRetryable(err) {
		t.Fatalf("Complete = %v, want a retryable error without waiting past the deadline", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Complete waited until the deadline, want an immediate error")
	}
}

func TestSlowAnswerRespectsContext(t *testing.T) {
	srv, c := setup(t, openai.Config{Retries: -1})
	srv.Script(openaitest.Step{Text: "late", Delay: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Complete(ctx, simpleRequest)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Complete after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Complete did not return after cancel")
	}
}

func TestNewValidates(t *testing.T) {
	tests := []openai.Config{
		{BaseURL: "ftp://example.test/v1"},
		{BaseURL: "::not a url"},
		{Headers: map[string]string{"Bad Header": "x"}},
	}
	for _, cfg := range tests {
		if _, err := openai.New(cfg); err == nil {
			t.Errorf("New(%v) = nil error, want an error", cfg)
		}
	}
}

func TestConfigStringRedactsKey(t *testing.T) {
	s := openai.Config{APIKey: "sk-very-secret", BaseURL: "http://127.0.0.1:1/v1"}.String()
	if strings.Contains(s, "sk-very-secret") || !strings.Contains(s, "redacted") {
		t.Errorf("String() = %s, want the key redacted", s)
	}
}
