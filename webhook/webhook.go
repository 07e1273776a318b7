// Package webhook signs, sends and verifies the calls a website's guided steps make to the
// website's own system (a booking or CRM endpoint): a JSON POST signed with HMAC-SHA256 over the
// timestamp and the raw body, answered with a small JSON reply that drives the next block.
//
// The signature header is "v1=" followed by the lowercase hex HMAC-SHA256, keyed with the website's
// secret, of the decimal Unix timestamp (seconds, the timestamp header), a dot, and the raw body:
//
//	X-SignalBridge-Timestamp: 1774710000
//	X-SignalBridge-Signature: v1=<hex(HMAC-SHA256(secret, "1774710000." + body))>
//	X-SignalBridge-Delivery:  <the call's id; the same on every retry of one call>
//
// Receivers verify the signature on the raw bytes with a constant-time compare, refuse timestamps
// older than a few minutes, and treat a repeated delivery id as the same call (a retry after a
// reply that was lost). The package uses the standard library only.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a call.
const (
	HeaderTimestamp = "X-SignalBridge-Timestamp"
	HeaderSignature = "X-SignalBridge-Signature"
	HeaderDelivery  = "X-SignalBridge-Delivery"
)

// Request is the JSON body of a call.
type Request struct {
	Delivery  string            `json:"delivery"` // the same as the delivery header
	Event     string            `json:"event"`    // "guided_steps.webhook"
	Website   string            `json:"website_id"`
	Session   string            `json:"session_id"`
	Block     string            `json:"block"`    // id of the webhook block
	Endpoint  string            `json:"endpoint"` // the configured endpoint's name
	Email     string            `json:"email,omitempty"`
	Language  string            `json:"language,omitempty"`
	Answers   map[string]string `json:"answers"` // the guided steps' answers so far, by data key
	Timestamp int64             `json:"timestamp"`
}

// Reply is what the website's system answers (every field optional): a message shown to the
// visitor, session data to set, and the name of a branch of the block to take.
type Reply struct {
	Message string            `json:"message,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
	Branch  string            `json:"branch,omitempty"`
}

// Limits of a reply.
const (
	MaxReplyBytes   = 64 << 10
	MaxMessageChars = 4000
	MaxDataKeys     = 32
)

// Sign returns the signature header value of body sent at ts (Unix seconds).
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing timestamp or signature header")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the accepted window")
)

// Verify checks a received call: the signature over the raw body and a timestamp within maxAge of
// now (either way, for clock skew). It is what a receiver written in Go runs.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	tsv, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if tsv == "" || sig == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsv, 10, 64)
	if err != nil {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return ErrStale
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig)) {
		return ErrBadSignature
	}
	return nil
}

// ParseReply reads and validates a reply body; an empty body is an empty reply.
func ParseReply(body []byte) (Reply, error) {
	var r Reply
	if len(bytes.TrimSpace(body)) == 0 {
		return r, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Reply{}, fmt.Errorf("reply is not the documented JSON {message, data, branch}: %w", err)
	}
	if n := len([]rune(r.Message)); n > MaxMessageChars {
		return Reply{}, fmt.Errorf("reply message has %d characters, more than %d", n, MaxMessageChars)
	}
	if len(r.Data) > MaxDataKeys {
		return Reply{}, fmt.Errorf("reply data has %d keys, more than %d", len(r.Data), MaxDataKeys)
	}
	for k := range r.Data {
		if !validKey(k) {
			return Reply{}, fmt.Errorf("reply data key %q must be 1-64 characters of a-z, 0-9, _ or -", k)
		}
	}
	return r, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// StatusError is a call answered with a non-2xx status.
type StatusError struct {
	Status int
	Body   string // the beginning of the body, for the log
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook answered %d: %s", e.Status, e.Body)
}

// Permanent reports whether retrying cannot help: a 4xx other than 408 (timeout), 409 (conflict) and
// 429 (too many requests).
func (e *StatusError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 409 && e.Status != 429
}

// permanentError is a reply that no retry can fix (it is not the documented JSON).
type permanentError struct{ error }

func (permanentError) Permanent() bool { return true }
func (e permanentError) Unwrap() error { return e.error }

// Client sends calls. The zero value uses http.DefaultClient's transport with a 10 s timeout per
// call and time.Now.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
}

// Post sends body to url signed with secret, and returns the parsed reply. Errors of non-2xx
// statuses and of invalid replies implement Permanent() bool when no retry can fix them.
func (c *Client) Post(ctx context.Context, url string, secret []byte, delivery string, body []byte) (Reply, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Reply{}, permanentError{fmt.Errorf("webhook request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "signalbridge-webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	req.Header.Set(HeaderDelivery, delivery)
	resp, err := hc.Do(req)
	if err != nil {
		return Reply{}, fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+1))
	if err != nil {
		return Reply{}, fmt.Errorf("webhook reply: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b := strings.TrimSpace(string(raw))
		if len(b) > 200 {
			b = b[:200]
		}
		return Reply{}, &StatusError{Status: resp.StatusCode, Body: b}
	}
	if len(raw) > MaxReplyBytes {
		return Reply{}, permanentError{fmt.Errorf("webhook reply larger than %d bytes", MaxReplyBytes)}
	}
	r, err := ParseReply(raw)
	if err != nil {
		return Reply{}, permanentError{err}
	}
	return r, nil
}
