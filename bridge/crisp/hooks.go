package crisp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// Web-hook headers and the website-hook query parameter.
const (
	HeaderSignature        = "X-Crisp-Signature"
	HeaderRequestTimestamp = "X-Crisp-Request-Timestamp"
	HeaderHookOrigin       = "X-Crisp-Hook-Origin"
	HeaderAttemptCount     = "X-Delivery-Attempt-Count"
	HeaderAttemptLimit     = "X-Delivery-Attempt-Limit"
	QueryWebsiteKey        = "key"
)

// Defaults of HookVerifier.
const (
	DefaultHookMaxAge  = 5 * time.Minute
	DefaultHookMaxBody = 1 << 20
)

// Web-hook verification and decoding errors.
var (
	// ErrMissingSignature: the request carries no signature (or timestamp), nor a website key.
	ErrMissingSignature = errors.New("crisp hook: missing signature")
	// ErrBadSignature: the signature or the website key does not match.
	ErrBadSignature = errors.New("crisp hook: bad signature")
	// ErrStale: the signed timestamp is outside the freshness window (or unreadable).
	ErrStale = errors.New("crisp hook: stale request")
	// ErrTooLarge: the body is larger than allowed.
	ErrTooLarge = errors.New("crisp hook: body too large")
	// ErrNoSecret: the verifier has neither a signing secret nor a website key.
	ErrNoSecret = errors.New("crisp hook: no secret configured")
	// ErrUnhandled: a well-formed hook of an event the bridge does not consume; answer 2xx and drop it.
	ErrUnhandled = errors.New("crisp hook: unhandled event")
	// ErrReplayed: the same hook body was already accepted within the freshness window (a replay,
	// or Crisp retrying a hook whose answer it lost); answer 2xx and drop it.
	ErrReplayed = errors.New("crisp hook: replayed")
)

// HookVerifier authenticates Crisp web hooks before their body is parsed. Plugin hooks are signed
// with Secret (the plugin's hooks signing secret); website hooks are not signed and carry WebsiteKey
// as the ?key= query parameter of the URL configured in Crisp. When both are set, a request with an
// X-Crisp-Signature header is checked as a plugin hook and any other as a website hook. The
// freshness window applies to plugin hooks through their signed X-Crisp-Request-Timestamp, and to
// website hooks through their envelope's timestamp (not signed: it stops a captured request sent
// again later, not a forger who knows the key). Replays within the window are refused by
// ReplayCache.
type HookVerifier struct {
	Secret     string           // plugin hooks signing secret, used as UTF-8 bytes
	WebsiteKey string           // website hooks ?key= secret
	MaxAge     time.Duration    // freshness window of plugin hooks; 0: DefaultHookMaxAge; < 0: none
	MaxBody    int64            // 0: DefaultHookMaxBody; < 0: no limit
	Now        func() time.Time // default time.Now
}

// Verify checks one hook request: body size, then the plugin signature (HMAC-SHA256 over
// "[" + X-Crisp-Request-Timestamp + ";" + raw body + "]", lowercase hex, constant-time) and its
// freshness, or the website key (constant-time). body must be the raw bytes received.
func (v HookVerifier) Verify(h http.Header, query url.Values, body []byte) error {
	if limit := v.maxBody(); limit > 0 && int64(len(body)) > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), limit)
	}
	sig := h.Get(HeaderSignature)
	switch {
	case v.Secret != "" && (sig != "" || v.WebsiteKey == ""):
		return v.verifyPlugin(h, sig, body)
	case v.WebsiteKey != "":
		key := query.Get(QueryWebsiteKey)
		if key == "" {
			return fmt.Errorf("%w: no website key", ErrMissingSignature)
		}
		if subtle.ConstantTimeCompare([]byte(key), []byte(v.WebsiteKey)) != 1 {
			return fmt.Errorf("%w: website key", ErrBadSignature)
		}
		return v.fresh(envelopeTime(body))
	}
	return ErrNoSecret
}

// Window returns the freshness window (0 when freshness is not checked).
func (v HookVerifier) Window() time.Duration {
	switch {
	case v.MaxAge == 0:
		return DefaultHookMaxAge
	case v.MaxAge < 0:
		return 0
	}
	return v.MaxAge
}

// fresh checks a hook timestamp (milliseconds, or seconds below 1e11) against the window.
func (v HookVerifier) fresh(ts string) error {
	maxAge := v.Window()
	if maxAge == 0 {
		return nil
	}
	at, err := hookTime(ts)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q: %v", ErrStale, ts, err)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if age := now().Sub(at); age > maxAge || age < -maxAge {
		return fmt.Errorf("%w: emitted %s ago, window %s", ErrStale, age.Round(time.Second), maxAge)
	}
	return nil
}

// envelopeTime returns the envelope's "timestamp" as text, "" when it has none.
func envelopeTime(body []byte) string {
	var env struct {
		Timestamp json.Number `json:"timestamp"`
	}
	if json.Unmarshal(body, &env) != nil {
		return ""
	}
	return env.Timestamp.String()
}

func (v HookVerifier) maxBody() int64 {
	if v.MaxBody == 0 {
		return DefaultHookMaxBody
	}
	return v.MaxBody
}

func (v HookVerifier) verifyPlugin(h http.Header, sig string, body []byte) error {
	ts := h.Get(HeaderRequestTimestamp)
	if sig == "" {
		return ErrMissingSignature
	}
	if ts == "" {
		return fmt.Errorf("%w: no %s", ErrMissingSignature, HeaderRequestTimestamp)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: not a sha256 hex digest", ErrBadSignature)
	}
	if !hmac.Equal(got, hookMAC(v.Secret, ts, body)) {
		return ErrBadSignature
	}
	return v.fresh(ts)
}

// hookTime reads X-Crisp-Request-Timestamp. Crisp does not document its unit: milliseconds, as in
// the envelope's timestamp, are assumed; a value below 1e11 is taken as seconds (1e11 ms is 1973,
// 1e11 s is year 5138). UNCONFIRMED.
func hookTime(ts string) (time.Time, error) {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("not an integer")
	}
	if n <= 0 {
		return time.Time{}, errors.New("not positive")
	}
	if n < 1e11 {
		return time.Unix(n, 0), nil
	}
	return time.UnixMilli(n), nil
}

// Sign returns the X-Crisp-Signature of a plugin hook: the lowercase hex HMAC-SHA256, keyed with
// secret, of "[" + timestamp + ";" + body + "]".
func Sign(secret, timestamp string, body []byte) string {
	return hex.EncodeToString(hookMAC(secret, timestamp, body))
}

func hookMAC(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("["))
	m.Write([]byte(timestamp))
	m.Write([]byte(";"))
	m.Write(body)
	m.Write([]byte("]"))
	return m.Sum(nil)
}

// ReadBody reads at most max bytes (max <= 0: DefaultHookMaxBody) and fails with ErrTooLarge past it.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	limit := max
	if limit <= 0 {
		limit = DefaultHookMaxBody
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read hook body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// hookEnvelope is the body of a web hook.
type hookEnvelope struct {
	WebsiteID string          `json:"website_id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp json.Number     `json:"timestamp"`
}

// hookEvent is the body of a web hook with its data decoded in the same pass.
type hookEvent struct {
	WebsiteID string      `json:"website_id"`
	Event     string      `json:"event"`
	Data      *wireEvent  `json:"data"`
	Timestamp json.Number `json:"timestamp"`
}

// DecodeHook decodes a verified hook body {website_id, event, data, timestamp} into an event as
// DecodeEvent does with its data. An event the bridge does not consume gives ErrUnhandled (answer 2xx,
// do nothing); a body that cannot be read gives ErrMalformed. The envelope's timestamp fills
// Event.Timestamp when the data has none.
func DecodeHook(body []byte) (bridge.Event, error) {
	// One pass over the body for the envelope and its data. A body that does not decode so (data of
	// another shape, maybe of an event we do not consume) takes the two-pass path, whose answer
	// classifies it.
	var h hookEvent
	if json.Unmarshal(body, &h) != nil || h.Event == "" || h.Data == nil {
		return decodeHookTwoPass(body)
	}
	if !Handled(h.Event) {
		return bridge.Event{}, fmt.Errorf("%w: %q", ErrUnhandled, h.Event)
	}
	ev, err := eventOf(h.Event, h.Data, bridge.ViaHooks, h.WebsiteID)
	if err != nil {
		return bridge.Event{}, err
	}
	return hookTimestamp(ev, h.Timestamp)
}

// decodeHookTwoPass decodes the envelope, checks the event, then decodes its data.
func decodeHookTwoPass(body []byte) (bridge.Event, error) {
	var env hookEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return bridge.Event{}, fmt.Errorf("%w: hook envelope: %v", ErrMalformed, err)
	}
	if env.Event == "" {
		return bridge.Event{}, fmt.Errorf("%w: hook envelope: no event", ErrMalformed)
	}
	if !Handled(env.Event) {
		return bridge.Event{}, fmt.Errorf("%w: %q", ErrUnhandled, env.Event)
	}
	if d := bytes.TrimSpace(env.Data); len(d) == 0 || d[0] != '{' {
		return bridge.Event{}, fmt.Errorf("%w: %s: hook data is not an object", ErrMalformed, env.Event)
	}
	ev, err := DecodeEvent(env.Event, env.Data, bridge.ViaHooks, env.WebsiteID)
	if err != nil {
		return bridge.Event{}, err
	}
	return hookTimestamp(ev, env.Timestamp)
}

// hookTimestamp fills the event's timestamp from the envelope's when the data had none.
func hookTimestamp(ev bridge.Event, envelope json.Number) (bridge.Event, error) {
	if ev.Timestamp == 0 && envelope != "" {
		ts, err := number(envelope)
		if err != nil {
			return bridge.Event{}, fmt.Errorf("%w: %s: envelope timestamp: %v", ErrMalformed, ev.Name, err)
		}
		ev.Timestamp = ts
	}
	return ev, nil
}

// ReplayCache remembers the hook bodies accepted within the freshness window, so that the same
// request sent again is refused. An entry is kept until its window ends, never less: the cache is
// bounded by the window, not by a count. Its size is at most the hooks accepted in one window;
// Max is only a ceiling on memory, reached by a flood, at which new bodies are refused with
// ErrReplayCacheFull (a 503: Crisp retries once older entries expire) rather than forgetting a
// live entry, which would let a replay through. Safe for concurrent use.
type ReplayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[[32]byte]time.Time // body hash -> forget after
	order [][32]byte             // arrival order, for expiry
	head  int                    // order[head:] may be live
}

// ErrReplayCacheFull: the replay cache holds Max live entries; the hook is refused (503) so that
// Crisp retries it.
var ErrReplayCacheFull = errors.New("crisp hook: replay cache full")

// DefaultReplayEntries is the memory ceiling of a ReplayCache made with max <= 0: about 160 hooks a
// second over a 10-minute span, 6 MB at most.
const DefaultReplayEntries = 100_000

// NewReplayCache returns a cache of at most max live entries (max <= 0: DefaultReplayEntries).
func NewReplayCache(max int) *ReplayCache {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &ReplayCache{max: max, seen: map[[32]byte]time.Time{}}
}

// Reserve records body as accepted until the time until, or returns ErrReplayed when it already is,
// or ErrReplayCacheFull when Max entries are all still live.
// Call Release when the hook could not be taken after all (queue full), so that Crisp's retry of
// it is accepted.
func (c *ReplayCache) Reserve(body []byte, now, until time.Time) error {
	k := sha256.Sum256(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[k]; ok && now.Before(t) {
		return ErrReplayed
	}
	c.expire(now)
	if len(c.seen) >= c.max {
		// Entries expire in about arrival order (one window each) but not exactly: look for any
		// expired one before refusing.
		for h, t := range c.seen {
			if !now.Before(t) {
				delete(c.seen, h)
			}
		}
		if len(c.seen) >= c.max {
			return ErrReplayCacheFull
		}
	}
	c.seen[k] = until
	c.order = append(c.order, k)
	return nil
}

// expire forgets the entries, oldest first, whose window has ended. Callers hold mu.
func (c *ReplayCache) expire(now time.Time) {
	for c.head < len(c.order) {
		old := c.order[c.head]
		if t, ok := c.seen[old]; ok && now.Before(t) {
			break // the oldest still live: later ones are younger
		}
		delete(c.seen, old)
		c.head++
	}
	if c.head > len(c.order)/2 && c.head > 1024 {
		c.order = append([][32]byte(nil), c.order[c.head:]...)
		c.head = 0
	}
}

// Release forgets body (see Reserve).
func (c *ReplayCache) Release(body []byte) {
	k := sha256.Sum256(body)
	c.mu.Lock()
	delete(c.seen, k)
	c.mu.Unlock()
}

// Len returns the number of bodies remembered.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
