package openaitest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
)

type reply struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				Function struct{ Name, Arguments string } `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage openaitest.Usage `json:"usage"`
}

func post(t *testing.T, url, body string) (*http.Response, reply) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return resp, r
}

func TestServerEchoAndErrors(t *testing.T) {
	s := openaitest.New()
	ts := httptest.NewServer(s)
	defer ts.Close()
	const system = "Be brief.\n\nKnowledge-base passages:\n\n[1] Shipping — Costs\nURL: https://x.example/shipping\nShipping is free over 30 euros. Below that it costs 4.90.\n\nCall tools."
	tests := []struct {
		name, path, body string
		status           int
		text, tool       string
	}{
		{"passage", "/v1/chat/completions", `{"model":"m","messages":[{"role":"system","content":` + jsonString(system) + `},{"role":"user","content":"Is shipping free?"}]}`, 200, "Shipping is free over 30 euros. Below that it costs 4.90. (https://x.example/shipping)", ""},
		{"unknown", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"Tell me a joke"}]}`, 200, "I don't know the answer to that. Would you like to talk to someone from the team?", ""},
		{"person", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"a real person please"}]}`, 200, "", "handover_to_human"},
		{"thanks", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"Thanks!"}]}`, 200, "You're welcome!", "resolve_conversation"},
		{"bad json", "/v1/chat/completions", `{`, 400, "", ""},
		{"no messages", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400, "", ""},
		{"stream", "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 400, "", ""},
		{"unknown path", "/v1/images/generations", `{}`, 404, "", ""},
		{"embeddings without input", "/v1/embeddings", `{"model":"m"}`, 400, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, r := post(t, ts.URL+tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if len(r.Choices) != 1 || r.Choices[0].Message.Content != tc.text || r.Model != "m" || r.Usage.TotalTokens == 0 {
				t.Fatalf("reply = %+v, want text %q", r, tc.text)
			}
			calls := r.Choices[0].Message.ToolCalls
			if (tc.tool == "") != (len(calls) == 0) || (tc.tool != "" && calls[0].Function.Name != tc.tool) {
				t.Errorf("tool calls = %+v, want %q", calls, tc.tool)
			}
		})
	}
	if n := len(s.Requests()); n != len(tests)-3 { // bad json, unknown path and embeddings are not chat requests
		t.Errorf("recorded %d requests, want %d", n, len(tests)-3)
	}
}

func TestServerStartScriptAndClose(t *testing.T) {
	s := openaitest.MustStart(t)
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/v1") {
		t.Fatalf("URL = %q", s.URL())
	}
	s.Script(openaitest.Fail(429, "7"), openaitest.Step{Text: "scripted", Model: "other", Usage: &openaitest.Usage{PromptTokens: 3, CompletionTokens: 4}})
	resp, _ := post(t, s.URL()+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("status %d Retry-After %q, want 429 and 7", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	_, r := post(t, s.URL()+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if r.Choices[0].Message.Content != "scripted" || r.Model != "other" || r.Usage.TotalTokens != 7 {
		t.Errorf("reply = %+v, want the scripted step", r)
	}
	if s.Pending() != 0 {
		t.Errorf("Pending = %d, want 0", s.Pending())
	}
}

func TestServerLatencyRespectsContext(t *testing.T) {
	s := openaitest.MustStart(t)
	s.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request with latency 1m and a 50ms deadline succeeded")
	}
	// Close must not wait for the minute: the handler gave up with the request's context.
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a slow answer")
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
