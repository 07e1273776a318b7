// Package openaitest is a fake OpenAI-compatible server for tests, benchmarks and the demo. It
// speaks POST /v1/chat/completions (non-streaming) and answers from a script of steps (plain text,
// tool calls, usage, error statuses with Retry-After, slow answers that respect the request's
// context), or, with no script, deterministically from the visitor's last message and the
// knowledge-base passages found in the system prompt. Every request is recorded. POST
// /v1/embeddings answers deterministic vectors (see Embedding); those requests are recorded apart
// (EmbeddingRequests), so that Requests stays the chat requests.
package openaitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// Step is one scripted answer, consumed by one request.
type Step struct {
	Text       string
	ToolCalls  []ToolCall
	Usage      *Usage        // nil: estimated from the request and the answer
	Status     int           // 0 or 200: success; otherwise an OpenAI-style error with this status
	RetryAfter string        // Retry-After header of an error response
	Delay      time.Duration // wait before answering; a request whose context ends gets nothing
	Model      string        // model reported; "" echoes the request's
}

// ToolCall is a scripted function call.
type ToolCall struct {
	Name      string
	Arguments string // JSON object
}

// Usage is the reported token usage.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Text is a step answering text.
func Text(s string) Step { return Step{Text: s} }

// Call is a step calling one tool.
func Call(name, args string) Step { return Step{ToolCalls: []ToolCall{{Name: name, Arguments: args}}} }

// Fail is a step answering an error status, with a Retry-After header when retryAfter is not "".
func Fail(status int, retryAfter string) Step { return Step{Status: status, RetryAfter: retryAfter} }

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   ChatRequest
	Raw    []byte
}

// ChatRequest is the decoded body of a chat completion request.
type ChatRequest struct {
	Model       string        `json:"model"`
	Messages    []ChatMessage `json:"messages"`
	Tools       []ChatTool    `json:"tools"`
	Temperature *float64      `json:"temperature"`
	MaxTokens   int           `json:"max_tokens"`
	User        string        `json:"user"`
	Stream      bool          `json:"stream"`
}

// ChatMessage is one message of a request.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	Name    string `json:"name,omitempty"`
}

// ChatTool is a tool offered by a request.
type ChatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// Server is the fake. Use it as an http.Handler (httptest.NewServer(s)) or Start it.
type Server struct {
	mu       sync.Mutex
	script   []Step
	requests []Request
	embeds   []Request // embeddings requests, apart from the chat requests
	latency  time.Duration
	seq      int

	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// New returns a server with no script (echo/keyword mode) and no latency.
func New() *Server { return &Server{} }

// MustStart starts a server on 127.0.0.1:0 and closes it when the test ends.
func MustStart(tb testing.TB) *Server {
	tb.Helper()
	s := New()
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("start fake openai: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Start listens on addr ("127.0.0.1:0" when empty) and serves until Close.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("start fake openai: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return nil
}

// URL returns the API root of a started server, "http://127.0.0.1:port/v1".
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String() + "/v1"
}

// Close stops a started server, cutting open requests, and waits for it.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Script queues steps; each request consumes the next. With the queue empty the server answers in
// echo/keyword mode.
func (s *Server) Script(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, steps...)
}

// Pending returns the number of scripted steps not consumed yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}

// SetLatency delays every echo-mode answer by d (scripted steps use their own Delay).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Requests returns a copy of the recorded requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// EmbeddingRequests returns the recorded embeddings requests (Body is empty; Raw holds the JSON).
func (s *Server) EmbeddingRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.embeds...)
}

// ServeHTTP serves the chat completions and embeddings endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/embeddings") {
		s.serveEmbeddings(w, r)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		writeError(w, http.StatusNotFound, "not_found", "unknown path "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "read body: "+err.Error())
		return
	}
	var body ChatRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "decode body: "+err.Error())
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Raw: raw})
	var step Step
	scripted := len(s.script) > 0
	if scripted {
		step, s.script = s.script[0], s.script[1:]
	} else {
		step = Step{Delay: s.latency}
	}
	s.seq++
	id := s.seq
	s.mu.Unlock()

	if body.Stream {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "streaming is not supported by the fake")
		return
	}
	if len(body.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages is empty")
		return
	}
	if step.Delay > 0 {
		t := time.NewTimer(step.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if step.Status != 0 && step.Status != http.StatusOK {
		if step.RetryAfter != "" {
			w.Header().Set("Retry-After", step.RetryAfter)
		}
		kind := "server_error"
		if step.Status == http.StatusTooManyRequests {
			kind = "rate_limit_exceeded"
		}
		writeError(w, step.Status, kind, fmt.Sprintf("scripted status %d", step.Status))
		return
	}
	if !scripted {
		step.Text, step.ToolCalls = echo(body)
	}
	writeCompletion(w, id, body, step)
}

func writeError(w http.ResponseWriter, status int, kind, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": kind, "code": kind}})
}

func writeCompletion(w http.ResponseWriter, id int, req ChatRequest, step Step) {
	type fn struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	type call struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	msg := struct {
		Role      string `json:"role"`
		Content   string `json:"content"`
		ToolCalls []call `json:"tool_calls,omitempty"`
	}{Role: "assistant", Content: step.Text}
	finish := "stop"
	for i, tc := range step.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, call{ID: fmt.Sprintf("call_%d_%d", id, i), Type: "function", Function: fn{tc.Name, tc.Arguments}})
		finish = "tool_calls"
	}
	usage := step.Usage
	if usage == nil {
		usage = &Usage{PromptTokens: promptTokens(req), CompletionTokens: estimate(step.Text) + 1}
		for _, tc := range step.ToolCalls {
			usage.CompletionTokens += estimate(tc.Name+tc.Arguments) + 3
		}
	}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	model := step.Model
	if model == "" {
		model = req.Model
	}
	resp := map[string]any{
		"id":      fmt.Sprintf("chatcmpl-fake-%d", id),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   usage,
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// estimate is the fake's token count: four characters a token.
func estimate(s string) int { return (len([]rune(s)) + 3) / 4 }

func promptTokens(req ChatRequest) int {
	n := 3
	for _, m := range req.Messages {
		n += 4 + estimate(m.Content)
	}
	for _, t := range req.Tools {
		n += 8 + estimate(t.Function.Name+t.Function.Description+string(t.Function.Parameters))
	}
	return n
}

// passageRE finds "[n] Title" blocks of the assistant's system prompt.
var passageRE = regexp.MustCompile(`(?m)^\[\d+\] (.+)\n(?:URL: (\S+)\n)?((?:.+\n?)+)`)

type passage struct{ title, url, text string }

// echo answers like a cautious support model: a request for a person calls handover_to_human,
// thanks call resolve_conversation, a question answers with the best-overlapping passage of the
// system prompt and its link, anything else admits it does not know.
func echo(req ChatRequest) (string, []ToolCall) {
	var system, last string
	for _, m := range req.Messages {
		switch m.Role {
		case "system":
			system += m.Content + "\n"
		case "user":
			last = m.Content
		}
	}
	q := wordSet(last)
	for _, w := range []string{"human", "person", "humano", "persona", "humain", "personne", "huma"} {
		if q[w] {
			return "", []ToolCall{{Name: "handover_to_human", Arguments: `{"reason":"the visitor asked for a person"}`}}
		}
	}
	for _, w := range []string{"thanks", "thank", "gracias", "merci", "gracies", "solved"} {
		if q[w] {
			return "You're welcome!", []ToolCall{{Name: "resolve_conversation", Arguments: `{}`}}
		}
	}
	var best passage
	bestScore := 0
	for _, m := range passageRE.FindAllStringSubmatch(system, -1) {
		p := passage{title: m[1], url: m[2], text: strings.TrimSpace(m[3])}
		score := 0
		for w := range wordSet(p.title + " " + p.text) {
			if len(w) > 3 && q[w] {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	if bestScore == 0 {
		if last == "" {
			return "Hello! How can I help?", nil
		}
		return "I don't know the answer to that. Would you like to talk to someone from the team?", nil
	}
	answer := firstSentences(best.text, 2)
	if best.url != "" {
		answer += " (" + best.url + ")"
	}
	return answer, nil
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		m[w] = true
	}
	return m
}

func firstSentences(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	for i := 0; i < len(s)-1; i++ {
		if (s[i] == '.' || s[i] == '?' || s[i] == '!') && s[i+1] == ' ' {
			n--
			if n == 0 {
				return s[:i+1]
			}
		}
	}
	return s
}

// EmbeddingDims is the length of the fake's embedding vectors.
const EmbeddingDims = 256

// Embedding is the fake's deterministic embedding of text: a bag of words hashed into
// EmbeddingDims signed dimensions, each word cut to its first five letters (so that "shipping" and
// "shipped" meet), normalized. Texts sharing words are near; nothing else is.
func Embedding(text string) []float32 {
	v := make([]float32, EmbeddingDims)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		r := []rune(w)
		if len(r) < 3 {
			continue
		}
		if len(r) > 5 {
			r = r[:5]
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(string(r)))
		x := h.Sum32()
		if x&1 == 0 {
			v[(x>>1)%EmbeddingDims]++
		} else {
			v[(x>>1)%EmbeddingDims]--
		}
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}

// serveEmbeddings answers POST /v1/embeddings with OpenAI's shapes; input is a string or a list of
// strings. A scripted error step (Fail) applies to it as to a completion.
func (s *Server) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "read body: "+err.Error())
		return
	}
	var body struct {
		Input any    `json:"input"`
		Model string `json:"model"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "decode body: "+err.Error())
		return
	}
	var inputs []string
	switch in := body.Input.(type) {
	case string:
		inputs = []string{in}
	case []any:
		for _, x := range in {
			str, ok := x.(string)
			if !ok {
				writeError(w, http.StatusBadRequest, "invalid_request_error", "input must be strings")
				return
			}
			inputs = append(inputs, str)
		}
	}
	if len(inputs) == 0 || body.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "input and model are required")
		return
	}
	s.mu.Lock()
	s.embeds = append(s.embeds, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw})
	var step Step
	if len(s.script) > 0 && s.script[0].Status != 0 && s.script[0].Status != http.StatusOK {
		step, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	if step.Status != 0 {
		if step.RetryAfter != "" {
			w.Header().Set("Retry-After", step.RetryAfter)
		}
		writeError(w, step.Status, "server_error", fmt.Sprintf("scripted status %d", step.Status))
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}
	resp := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  Usage  `json:"usage"`
	}{Object: "list", Model: body.Model}
	tokens := 0
	for i, in := range inputs {
		resp.Data = append(resp.Data, item{Object: "embedding", Embedding: Embedding(in), Index: i})
		tokens += estimate(in)
	}
	resp.Usage = Usage{PromptTokens: tokens, TotalTokens: tokens}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
