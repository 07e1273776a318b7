// Package openai implements assistant.Completer over any OpenAI-compatible chat completions API
// (OpenAI, Azure-style proxies, Helicone, a local server) with github.com/sashabaranov/go-openai.
// It adds what the library leaves out: static and per-request headers for proxies, retries with
// backoff on 429 and 5xx that honour Retry-After, a per-attempt timeout and usage counters.
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/signalbridge/signalbridge/assistant"
)

// Config configures a Client.
type Config struct {
	BaseURL      string            // API root including the version, e.g. ".../v1"; "" is OpenAI's
	APIKey       string            // bearer token; may be empty for local servers
	Organization string            // OpenAI-Organization header, optional
	Headers      map[string]string // static headers on every request (proxy keys, routing)
	// MetadataHeaderPrefix turns request metadata into headers: with "Helicone-Property-", the
	// metadata key "website" becomes the header "Helicone-Property-Website". Empty: not sent.
	MetadataHeaderPrefix string
	Model                string        // default model when a request names none (default "gpt-4o-mini")
	EmbeddingModel       string        // model of Embed (default "text-embedding-3-small")
	Timeout              time.Duration // per HTTP attempt (default 60s)
	Retries              int           // extra attempts on 429, 5xx and connection errors (default 2; -1: none)
	MinBackoff           time.Duration // first backoff (default 500ms), doubled per retry with jitter
	MaxBackoff           time.Duration // cap of backoff and of an honoured Retry-After (default 20s)
	HTTPClient           *http.Client  // base client (default: a new one); its Transport is wrapped
	Logger               *slog.Logger
}

// String describes the configuration without secrets.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("openai.Config{BaseURL:%q APIKey:%q Model:%q Timeout:%s Retries:%d Headers:%d}",
		c.BaseURL, key, c.Model, c.Timeout, c.Retries, len(c.Headers))
}

// Client calls the chat completions endpoint. It is safe for concurrent use.
type Client struct {
	cfg Config
	api *goopenai.Client
	log *slog.Logger

	requests, retries, failures    atomic.Int64
	promptTokens, completionTokens atomic.Int64
}

var (
	_ assistant.Completer = (*Client)(nil)
	_ assistant.Embedder  = (*Client)(nil)
)

// DefaultEmbeddingModel is the embedding model when Config.EmbeddingModel is empty.
const DefaultEmbeddingModel = "text-embedding-3-small"

// New validates cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("new openai client: base url %q is not an http(s) url", cfg.BaseURL)
		}
	}
	for k := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return nil, fmt.Errorf("new openai client: bad header name %q", k)
		}
	}
	if cfg.Model == "" {
		cfg.Model = "gpt-4o-mini"
	}
	if cfg.EmbeddingModel == "" {
		cfg.EmbeddingModel = DefaultEmbeddingModel
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	switch {
	case cfg.Retries < 0:
		cfg.Retries = 0
	case cfg.Retries == 0:
		cfg.Retries = 2
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base := http.DefaultTransport
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
		if hc.Transport != nil {
			base = hc.Transport
		}
	}
	hc.Transport = &transport{base: base, headers: cfg.Headers, prefix: cfg.MetadataHeaderPrefix}

	oc := goopenai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	oc.OrgID = cfg.Organization
	oc.HTTPClient = hc
	return &Client{cfg: cfg, api: goopenai.NewClientWithConfig(oc), log: cfg.Logger}, nil
}

// Stats are a client's cumulative counters.
type Stats struct {
	Requests         int64 // HTTP attempts
	Retries          int64 // attempts after a failure
	Failures         int64 // Complete calls that returned an error
	PromptTokens     int64
	CompletionTokens int64
}

// Stats returns the cumulative counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests: c.requests.Load(), Retries: c.retries.Load(), Failures: c.failures.Load(),
		PromptTokens: c.promptTokens.Load(), CompletionTokens: c.completionTokens.Load(),
	}
}

// Complete calls the model, retrying 429, 5xx and connection failures up to Config.Retries times.
// Errors still worth a later attempt are marked assistant.Retryable.
func (c *Client) Complete(ctx context.Context, req assistant.CompletionRequest) (assistant.Completion, error) {
	creq := c.request(req)
	for attempt := 0; ; attempt++ {
		info := &attemptInfo{metadata: req.Metadata}
		comp, err := c.once(withAttempt(ctx, info), creq)
		if err == nil {
			return comp, nil
		}
		retryable := c.retryable(ctx, err, info)
		if !retryable || attempt >= c.cfg.Retries || ctx.Err() != nil {
			c.failures.Add(1)
			if retryable {
				err = assistant.Retryable(err)
			}
			return assistant.Completion{}, fmt.Errorf("chat completion: %w", err)
		}
		wait := c.backoff(attempt, info.retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			c.failures.Add(1)
			return assistant.Completion{}, fmt.Errorf("chat completion: retry in %s is past the deadline: %w",
				wait, assistant.Retryable(err))
		}
		c.log.Warn("chat completion failed, retrying", "status", info.status, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.failures.Add(1)
			return assistant.Completion{}, fmt.Errorf("chat completion: %w", context.Cause(ctx))
		case <-t.C:
		}
		c.retries.Add(1)
	}
}

// EmbeddingModel implements assistant.Embedder.
func (c *Client) EmbeddingModel() string { return c.cfg.EmbeddingModel }

// Embed implements assistant.Embedder with the /embeddings endpoint, retrying like Complete.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	req := goopenai.EmbeddingRequest{Input: texts, Model: goopenai.EmbeddingModel(c.cfg.EmbeddingModel)}
	for attempt := 0; ; attempt++ {
		info := &attemptInfo{}
		actx, cancel := context.WithTimeout(withAttempt(ctx, info), c.cfg.Timeout)
		c.requests.Add(1)
		resp, err := c.api.CreateEmbeddings(actx, req)
		cancel()
		if err == nil {
			c.promptTokens.Add(int64(resp.Usage.PromptTokens))
			out := make([][]float32, len(texts))
			for _, d := range resp.Data {
				if d.Index < 0 || d.Index >= len(out) {
					return nil, fmt.Errorf("embeddings: index %d out of %d texts", d.Index, len(texts))
				}
				out[d.Index] = d.Embedding
			}
			for i, v := range out {
				if len(v) == 0 {
					return nil, fmt.Errorf("embeddings: no vector for text %d", i)
				}
			}
			return out, nil
		}
		retryable := c.retryable(ctx, err, info)
		if !retryable || attempt >= c.cfg.Retries || ctx.Err() != nil {
			c.failures.Add(1)
			if retryable {
				err = assistant.Retryable(err)
			}
			return nil, fmt.Errorf("embeddings: %w", err)
		}
		wait := c.backoff(attempt, info.retryAfter)
		c.log.Warn("embeddings failed, retrying", "status", info.status, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.failures.Add(1)
			return nil, fmt.Errorf("embeddings: %w", context.Cause(ctx))
		case <-t.C:
		}
		c.retries.Add(1)
	}
}

func (c *Client) once(ctx context.Context, creq goopenai.ChatCompletionRequest) (assistant.Completion, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	c.requests.Add(1)
	resp, err := c.api.CreateChatCompletion(ctx, creq)
	if err != nil {
		return assistant.Completion{}, err
	}
	c.promptTokens.Add(int64(resp.Usage.PromptTokens))
	c.completionTokens.Add(int64(resp.Usage.CompletionTokens))
	comp := assistant.Completion{Usage: assistant.Usage{
		PromptTokens:     int64(resp.Usage.PromptTokens),
		CompletionTokens: int64(resp.Usage.CompletionTokens),
		Model:            resp.Model,
	}}
	if comp.Usage.Model == "" {
		comp.Usage.Model = creq.Model
	}
	if len(resp.Choices) == 0 {
		return comp, nil
	}
	ch := resp.Choices[0]
	comp.Text = ch.Message.Content
	comp.FinishReason = string(ch.FinishReason)
	for _, tc := range ch.Message.ToolCalls {
		comp.ToolCalls = append(comp.ToolCalls, assistant.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return comp, nil
}

func (c *Client) request(req assistant.CompletionRequest) goopenai.ChatCompletionRequest {
	creq := goopenai.ChatCompletionRequest{
		Model:       req.Model,
		Temperature: float32(req.Temperature),
		MaxTokens:   req.MaxTokens,
		User:        req.Metadata["session"],
	}
	if creq.Model == "" {
		creq.Model = c.cfg.Model
	}
	for _, m := range req.Messages {
		creq.Messages = append(creq.Messages, goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content, Name: m.Name})
	}
	for _, t := range req.Tools {
		creq.Tools = append(creq.Tools, goopenai.Tool{
			Type:     goopenai.ToolTypeFunction,
			Function: &goopenai.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: t.Parameters},
		})
	}
	return creq
}

// retryable classifies an attempt's error: rate limits, server errors, attempt timeouts and
// connection failures are transient; other statuses (400, 401, 404...) are not.
func (c *Client) retryable(ctx context.Context, err error, info *attemptInfo) bool {
	if ctx.Err() != nil {
		return false
	}
	status := info.status
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	if status != 0 {
		return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
	}
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) ||
		errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF")
}

// backoff is the wait before retry attempt+1: Retry-After when the server gave one (capped at
// MaxBackoff), else exponential from MinBackoff with jitter.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.cfg.MaxBackoff)
	}
	d := c.cfg.MinBackoff << attempt
	d = d/2 + rand.N(d/2+1)
	return min(d, c.cfg.MaxBackoff)
}

// attemptInfo carries an attempt's metadata to the transport and its response status and
// Retry-After back, which go-openai's errors do not expose.
type attemptInfo struct {
	metadata   map[string]string
	status     int
	retryAfter time.Duration
}

type attemptKey struct{}

func withAttempt(ctx context.Context, info *attemptInfo) context.Context {
	return context.WithValue(ctx, attemptKey{}, info)
}

// transport adds headers and records the response's status and Retry-After.
type transport struct {
	base    http.RoundTripper
	headers map[string]string
	prefix  string
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	info, _ := r.Context().Value(attemptKey{}).(*attemptInfo)
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	if t.prefix != "" && info != nil {
		for k, v := range info.metadata {
			if k == "" || v == "" {
				continue
			}
			r.Header.Set(t.prefix+headerWord(k), sanitizeHeaderValue(v))
		}
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil && info != nil {
		info.status = resp.StatusCode
		info.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return resp, err
}

// headerWord capitalises a metadata key for a header name: "website" -> "Website".
func headerWord(k string) string {
	var b strings.Builder
	up := true
	for _, r := range k {
		switch {
		case r == '-' || r == '_' || r == ' ':
			b.WriteByte('-')
			up = true
		case up && r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			up = false
		default:
			b.WriteRune(r)
			up = false
		}
	}
	return b.String()
}

func sanitizeHeaderValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, v)
}

// parseRetryAfter reads a Retry-After header: delay seconds (fractions accepted, as some proxies
// send them) or an HTTP date. It returns 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
