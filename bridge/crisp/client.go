package crisp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of ClientConfig.
const (
	DefaultBaseURL    = "https://api.crisp.chat/v1/"
	DefaultTier       = "plugin"
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 2
	// DefaultDailyQuota is Crisp's daily request quota of a plugin token. ClientConfig.DailyQuota is
	// 0 (unlimited) unless set; configuration should default to this value.
	DefaultDailyQuota = 5000
	DefaultUserAgent  = "signalbridge"
	// maxResponse caps the bytes read from one response.
	maxResponse = 8 << 20
)

// Backoff is the jittered exponential pause between attempts of a retried request.
type Backoff struct {
	Min time.Duration // first pause before jitter; default 250 ms
	Max time.Duration // cap; default 5 s
}

// ClientConfig configures a Client. Only Identifier and Key are required.
type ClientConfig struct {
	BaseURL    string        // REST base, default DefaultBaseURL; a fake's URL in tests and the demo
	Identifier string        // token identifier (Basic auth user)
	Key        string        // token key (Basic auth password); never logged
	Tier       string        // "plugin" (default), "website" or "user"; sent as X-Crisp-Tier
	Timeout    time.Duration // per attempt, default DefaultTimeout
	HTTPClient *http.Client  // default: a client of its own that keeps connections to Crisp open

	MaxRetries int     // extra attempts of a retryable failure; 0: DefaultMaxRetries; < 0: none
	Backoff    Backoff // pauses between attempts

	// DailyQuota is the number of requests allowed per 24 h, enforced by a client-side token bucket
	// so that a plugin stays inside Crisp's quota: calls wait for a token up to their context.
	// 0 means unlimited (see DefaultDailyQuota). QuotaBurst is the bucket's capacity (default an
	// hour's worth of quota); the bucket refills at (DailyQuota-QuotaBurst)/24h.
	DailyQuota int
	QuotaBurst int

	UserAgent   string // default DefaultUserAgent
	PluginURN   string // our origin, "urn:<account>:<plugin>:0"; messages use "chat" when empty
	BotNickname string // author name shown on our messages
	BotAvatar   string // author avatar URL shown on our messages

	Logger *slog.Logger // default: discard
	// Observe, when set, is called after every attempt with the route template (for example
	// "website/{website}/conversation/{session}/message"), the HTTP status (0 when no response came)
	// and the attempt's duration. Metrics hang here.
	Observe func(method, route string, status int, dur time.Duration)
}

// LogValue logs the configuration with the key (and any password in the base URL) redacted.
func (c ClientConfig) LogValue() slog.Value {
	base := c.BaseURL
	if u, err := url.Parse(base); err == nil {
		base = u.Redacted()
	}
	return slog.GroupValue(
		slog.String("base_url", base),
		slog.String("identifier", c.Identifier),
		slog.String("key", redactSecret(c.Key)),
		slog.String("tier", c.Tier),
		slog.Int("daily_quota", c.DailyQuota),
	)
}

func redactSecret(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// Client is a Crisp REST API client. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	cfg     ClientConfig
	http    *http.Client
	log     *slog.Logger
	quota   *quotaBucket
	retries int
}

// NewClient validates cfg, applies its defaults and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("new crisp client: base url: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("new crisp client: base url %q: want http(s)://host/path/", base.Redacted())
	}
	if cfg.Identifier == "" || cfg.Key == "" {
		return nil, errors.New("new crisp client: identifier and key are required")
	}
	if cfg.Tier == "" {
		cfg.Tier = DefaultTier
	}
	switch cfg.Tier {
	case "plugin", "website", "user":
	default:
		return nil, fmt.Errorf("new crisp client: tier %q: want plugin, website or user", cfg.Tier)
	}
	if cfg.PluginURN != "" && !strings.HasPrefix(cfg.PluginURN, "urn:") {
		return nil, fmt.Errorf("new crisp client: plugin urn %q: want urn:...", cfg.PluginURN)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = 250 * time.Millisecond
	}
	if cfg.Backoff.Max < cfg.Backoff.Min {
		cfg.Backoff.Max = max(5*time.Second, cfg.Backoff.Min)
	}
	if cfg.DailyQuota < 0 {
		return nil, fmt.Errorf("new crisp client: daily quota %d: want >= 0", cfg.DailyQuota)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	c := &Client{base: base, cfg: cfg, http: cfg.HTTPClient, log: cfg.Logger, retries: cfg.MaxRetries}
	if c.http == nil {
		// Concurrent answers and writes all go to one host: keep enough connections idle that they
		// are reused rather than dialled again (Go's default keeps 2 per host; the rest are closed
		// and re-dialled, a TLS handshake each against the real Crisp: 6-10% of the server's CPU in
		// the open-loop profile).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 512, 256
		c.http = &http.Client{Transport: t}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultMaxRetries
	case c.retries < 0:
		c.retries = 0
	}
	c.quota = newQuotaBucket(cfg.DailyQuota, cfg.QuotaBurst, time.Now)
	return c, nil
}

// QuotaLeft returns the requests the client may make now without waiting, or -1 when it has no
// daily quota.
func (c *Client) QuotaLeft() int {
	if c.quota == nil {
		return -1
	}
	return c.quota.left()
}

// Tier returns the token tier the client authenticates with.
func (c *Client) Tier() string { return c.cfg.Tier }

// Origin returns the origin our messages carry: the plugin URN, or "chat" when none is configured.
func (c *Client) Origin() string {
	if c.cfg.PluginURN != "" {
		return c.cfg.PluginURN
	}
	return "chat"
}

// PluginURN returns the configured plugin URN ("" when none).
func (c *Client) PluginURN() string { return c.cfg.PluginURN }

// restEnvelope is Crisp's response body.
type restEnvelope struct {
	Error  bool            `json:"error"`
	Reason string          `json:"reason"`
	Data   json.RawMessage `json:"data"`
}

// restCall describes one REST request.
type restCall struct {
	op     string     // lowercase operation for error messages, "send message"
	method string     // HTTP method
	route  string     // template for metrics, "website/{website}/conversation/{session}/meta"
	path   string     // escaped path relative to the base URL
	query  url.Values // optional
	in     any        // JSON body, nil for none
	out    any        // decoded from the envelope's data, nil to ignore
}

// idempotentMethod reports whether a method may be repeated after the request may have reached Crisp.
func idempotentMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// do runs a call with quota, retries and envelope decoding; errors are wrapped with the call's op.
func (c *Client) do(ctx context.Context, r restCall) error {
	var body []byte
	if r.in != nil {
		var err error
		if body, err = json.Marshal(r.in); err != nil {
			return fmt.Errorf("%s: encode: %w", r.op, err)
		}
	}
	u := *c.base
	unescaped, err := url.PathUnescape(r.path)
	if err != nil {
		return fmt.Errorf("%s: path: %w", r.op, err)
	}
	u.Path, u.RawPath = c.base.Path+unescaped, c.base.EscapedPath()+r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		if c.quota != nil {
			if err := c.quota.wait(ctx, classOf(ctx, r.method, r.route)); err != nil {
				return fmt.Errorf("%s: %w", r.op, err)
			}
		}
		status, retryAfter, err := c.attempt(ctx, r, &u, body)
		if err == nil {
			return nil
		}
		if attempt >= c.retries || !c.retryable(r.method, status, err) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", r.op, err)
		}
		pause := c.backoff(attempt, retryAfter)
		c.log.DebugContext(ctx, "crisp request retry", "method", r.method, "route", r.route,
			"status", status, "attempt", attempt+1, "pause", pause, "error", err)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (after %w)", r.op, ctx.Err(), err)
		}
	}
}

// notConnectedError marks a transport error that happened before any connection to Crisp was made, so the
// request cannot have reached it.
type notConnectedError struct{ err error }

func (e *notConnectedError) Error() string { return e.err.Error() }
func (e *notConnectedError) Unwrap() error { return e.err }

// retryable decides whether a failed attempt is repeated. POSTs are repeated only when no connection
// was ever made: a POST that may have reached Crisp could have been committed (a duplicate message).
func (c *Client) retryable(method string, status int, err error) bool {
	if isTLSVerifyError(err) {
		return false
	}
	var nc *notConnectedError
	if errors.As(err, &nc) {
		return true
	}
	if !idempotentMethod(method) {
		return false
	}
	if status != 0 {
		return retryableStatus(status)
	}
	var ae *APIError
	if errors.As(err, &ae) { // envelope error on a 2xx: Crisp decided, repeating will not help
		return false
	}
	return true // transport error or a truncated body
}

// backoff returns the pause before attempt+1: exponential from Min, capped at Max, with equal
// jitter; a Retry-After from Crisp is honoured up to Max.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.cfg.Backoff.Min << min(attempt, 20)
	if d <= 0 || d > c.cfg.Backoff.Max {
		d = c.cfg.Backoff.Max
	}
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, c.cfg.Backoff.Max)
	}
	return d
}

// attempt makes one HTTP exchange. It returns the status (0 when no response came) and Crisp's
// Retry-After, if any.
func (c *Client) attempt(ctx context.Context, r restCall, u *url.URL, body []byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// Once a connection is obtained, the request may be written and may reach Crisp.
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(c.cfg.Identifier, c.cfg.Key)
	req.Header.Set("X-Crisp-Tier", c.cfg.Tier)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(r, 0, time.Since(start))
		err = scrubSecret(err, c.cfg.Key)
		if !connected.Load() && !isTLSVerifyError(err) {
			return 0, 0, &notConnectedError{err}
		}
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	c.observe(r, resp.StatusCode, time.Since(start))
	c.log.DebugContext(ctx, "crisp request", "method", r.method, "route", r.route,
		"status", resp.StatusCode, "duration", time.Since(start))
	if err != nil {
		return 0, 0, fmt.Errorf("read response: %w", scrubSecret(err, c.cfg.Key))
	}
	if len(raw) > maxResponse {
		return resp.StatusCode, 0, fmt.Errorf("read response: larger than %d bytes", maxResponse)
	}
	return resp.StatusCode, parseRetryAfter(resp.Header), decodeResponse(resp.StatusCode, raw, r.out)
}

func (c *Client) observe(r restCall, status int, d time.Duration) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(r.method, r.route, status, d)
	}
}

// decodeResponse turns a response into nil or an *APIError, decoding data into out on success.
func decodeResponse(status int, raw []byte, out any) error {
	var env restEnvelope
	envErr := json.Unmarshal(raw, &env)
	ok := status >= 200 && status < 300
	if !ok || (envErr == nil && env.Error) {
		ae := &APIError{Status: status}
		if envErr == nil {
			ae.Reason = env.Reason
			var d struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(env.Data, &d) == nil {
				ae.Message = d.Message
			}
		} else {
			ae.Message = bodySnippet(raw)
		}
		return ae
	}
	if out == nil || status == http.StatusNoContent || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if envErr != nil {
		return fmt.Errorf("decode response: %w", envErr)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(env.Data))
	dec.UseNumber() // keep custom data numbers exact (they are written back by read-merge-write)
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("decode response data: %w", err)
	}
	return nil
}

// bodySnippet returns the start of a non-JSON body, for error messages.
func bodySnippet(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// retryAfter parses a Retry-After header given in seconds (Crisp documents none; UNCONFIRMED).
func parseRetryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}

// isTLSVerifyError reports a certificate failure: repeating it is pointless.
func isTLSVerifyError(err error) bool {
	var ce *tls.CertificateVerificationError
	return errors.As(err, &ce)
}

// scrubSecret removes the key from a transport error's text, should a proxy or URL ever echo it.
func scrubSecret(err error, key string) error {
	if key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), key, "REDACTED"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
