package crisp_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

// The test vector of crisp-protocol.md §3.4.
const (
	vectorSecret    = "914a657d8cc2efbc20593f1806f9bde2"
	vectorTimestamp = "1506985696616"
	vectorBody      = `{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825","event":"message:send","data":{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825","session_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f","type":"text","content":"Hey :)","from":"user","origin":"chat","stamped":true,"timestamp":1506985696616,"fingerprint":150698569649423,"user":{"nickname":"visitor493603","user_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f"}},"timestamp":1506985696616}`
	vectorSignature = "fb82ff6bcf5ee036ac24450c4f47b8915c81fcfcb926cdec145d06c9bce212f4"
)

var vectorTime = time.UnixMilli(1506985696616)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func signed(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set(crisp.HeaderRequestTimestamp, ts)
	}
	if sig != "" {
		h.Set(crisp.HeaderSignature, sig)
	}
	return h
}

func TestSignVector(t *testing.T) {
	if got := crisp.Sign(vectorSecret, vectorTimestamp, []byte(vectorBody)); got != vectorSignature {
		t.Errorf("Sign = %s, want %s", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	plugin := crisp.HookVerifier{Secret: vectorSecret, Now: at(vectorTime.Add(2 * time.Second))}
	website := crisp.HookVerifier{WebsiteKey: "k3y-0f-the-website", Now: at(vectorTime.Add(2 * time.Second))}
	both := crisp.HookVerifier{Secret: vectorSecret, WebsiteKey: "k3y-0f-the-website", Now: plugin.Now}
	body := []byte(vectorBody)
	now := time.Now()
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	nowS := strconv.FormatInt(now.Unix(), 10)
	oldS := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	fresh := crisp.HookVerifier{Secret: vectorSecret, MaxAge: time.Minute, Now: at(now)}
	flipped := []byte(vectorSignature)
	flipped[10] ^= 1 // 'c' -> 'b'
	tests := []struct {
		name   string
		v      crisp.HookVerifier
		header http.Header
		query  url.Values
		body   []byte
		want   error
	}{
		{"test vector", plugin, signed(vectorTimestamp, vectorSignature), nil, body, nil},
		{"uppercase hex", plugin, signed(vectorTimestamp, strings.ToUpper(vectorSignature)), nil, body, nil},
		{"forged signature", plugin, signed(vectorTimestamp, string(flipped)), nil, body, crisp.ErrBadSignature},
		{"tampered body", plugin, signed(vectorTimestamp, vectorSignature), nil,
			bytes.ReplaceAll(body, []byte("Hey :)"), []byte("Hey :(")), crisp.ErrBadSignature},
		{"tampered timestamp", plugin, signed("1506985696617", vectorSignature), nil, body, crisp.ErrBadSignature},
		{"wrong secret", crisp.HookVerifier{Secret: "other", Now: plugin.Now}, signed(vectorTimestamp, vectorSignature), nil, body, crisp.ErrBadSignature},
		{"not hex", plugin, signed(vectorTimestamp, "zz"+vectorSignature[2:]), nil, body, crisp.ErrBadSignature},
		{"short digest", plugin, signed(vectorTimestamp, vectorSignature[:32]), nil, body, crisp.ErrBadSignature},
		{"missing signature", plugin, signed(vectorTimestamp, ""), nil, body, crisp.ErrMissingSignature},
		{"missing timestamp", plugin, signed("", vectorSignature), nil, body, crisp.ErrMissingSignature},
		{"stale", crisp.HookVerifier{Secret: vectorSecret, Now: at(vectorTime.Add(10 * time.Minute))},
			signed(vectorTimestamp, vectorSignature), nil, body, crisp.ErrStale},
		{"from the future", crisp.HookVerifier{Secret: vectorSecret, Now: at(vectorTime.Add(-10 * time.Minute))},
			signed(vectorTimestamp, vectorSignature), nil, body, crisp.ErrStale},
		{"freshness off", crisp.HookVerifier{Secret: vectorSecret, MaxAge: -1}, signed(vectorTimestamp, vectorSignature), nil, body, nil},
		{"fresh ms", fresh, signed(nowMS, crisp.Sign(vectorSecret, nowMS, body)), nil, body, nil},
		{"fresh seconds", fresh, signed(nowS, crisp.Sign(vectorSecret, nowS, body)), nil, body, nil},
		{"stale seconds", fresh, signed(oldS, crisp.Sign(vectorSecret, oldS, body)), nil, body, crisp.ErrStale},
		{"signed garbage timestamp", fresh, signed("soon", crisp.Sign(vectorSecret, "soon", body)), nil, body, crisp.ErrStale},
		{"oversized", crisp.HookVerifier{Secret: vectorSecret, MaxBody: 100, Now: plugin.Now},
			signed(vectorTimestamp, vectorSignature), nil, body, crisp.ErrTooLarge},
		{"oversized by default", plugin, signed(vectorTimestamp, vectorSignature), nil,
			make([]byte, crisp.DefaultHookMaxBody+1), crisp.ErrTooLarge},
		{"website key", website, nil, url.Values{"key": {"k3y-0f-the-website"}}, body, nil},
		{"wrong website key", website, nil, url.Values{"key": {"k3y-0f-the-websitf"}}, body, crisp.ErrBadSignature},
		{"missing website key", website, nil, nil, body, crisp.ErrMissingSignature},
		{"website key, stale envelope", crisp.HookVerifier{WebsiteKey: "k3y-0f-the-website", Now: at(vectorTime.Add(10 * time.Minute))},
			nil, url.Values{"key": {"k3y-0f-the-website"}}, body, crisp.ErrStale},
		{"website key, envelope from the future", crisp.HookVerifier{WebsiteKey: "k3y-0f-the-website", Now: at(vectorTime.Add(-10 * time.Minute))},
			nil, url.Values{"key": {"k3y-0f-the-website"}}, body, crisp.ErrStale},
		{"website key, no envelope timestamp", website, nil, url.Values{"key": {"k3y-0f-the-website"}},
			[]byte(`{"website_id":"w","event":"message:send","data":{}}`), crisp.ErrStale},
		{"website key, freshness off", crisp.HookVerifier{WebsiteKey: "k3y-0f-the-website", MaxAge: -1},
			nil, url.Values{"key": {"k3y-0f-the-website"}}, body, nil},
		{"website key ignores signature", website, signed(vectorTimestamp, vectorSignature), nil, body, crisp.ErrMissingSignature},
		{"both: signed", both, signed(vectorTimestamp, vectorSignature), nil, body, nil},
		{"both: key", both, nil, url.Values{"key": {"k3y-0f-the-website"}}, body, nil},
		{"both: forged signature with key", both, signed(vectorTimestamp, string(flipped)),
			url.Values{"key": {"k3y-0f-the-website"}}, body, crisp.ErrBadSignature},
		{"both: nothing", both, nil, nil, body, crisp.ErrMissingSignature},
		{"not configured", crisp.HookVerifier{}, signed(vectorTimestamp, vectorSignature), nil, body, crisp.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			err := tt.v.Verify(h, tt.query, tt.body)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), vectorSecret) || strings.Contains(err.Error(), "k3y-0f")) {
				t.Errorf("error %q leaks a secret", err)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		size, max int
		want      error
	}{{10, 10, nil}, {11, 10, crisp.ErrTooLarge}, {0, 10, nil}, {crisp.DefaultHookMaxBody, 0, nil}, {crisp.DefaultHookMaxBody + 1, 0, crisp.ErrTooLarge}} {
		in := bytes.Repeat([]byte("x"), tt.size)
		got, err := crisp.ReadBody(bytes.NewReader(in), int64(tt.max))
		if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("ReadBody(%d bytes, max %d) error = %v, want %v", tt.size, tt.max, err, tt.want)
		}
		if err == nil && !bytes.Equal(got, in) {
			t.Errorf("ReadBody(%d bytes, max %d) = %d bytes", tt.size, tt.max, len(got))
		}
	}
}

func TestDecodeHook(t *testing.T) {
	const w = `"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825"`
	avail := true
	tests := []struct {
		name string
		body string
		want bridge.Event
		err  error
	}{
		{"test vector", vectorBody, bridge.Event{
			Name: "message:send", Via: bridge.ViaHooks, WebsiteID: "42286ab3-b29a-4fde-8538-da0ae501d825",
			SessionID: "session_36ba3566-9651-4790-afc8-ffedbccc317f", Fingerprint: 150698569649423, Timestamp: 1506985696616,
			Message: &bridge.Message{Type: "text", From: "user", Origin: "chat", Text: "Hey :)",
				UserID: "session_36ba3566-9651-4790-afc8-ffedbccc317f", Nickname: "visitor493603"},
		}, nil},
		{"set data, envelope website and timestamp", `{` + w + `,"event":"session:set_data","data":{"session_id":"session_1","data":{"enum":"start_chatbot","n":3,"ok":true}},"timestamp":1715864068597}`,
			bridge.Event{Name: "session:set_data", Via: bridge.ViaHooks, WebsiteID: "42286ab3-b29a-4fde-8538-da0ae501d825",
				SessionID: "session_1", Timestamp: 1715864068597, Data: map[string]string{"enum": "start_chatbot", "n": "3", "ok": "true"}}, nil},
		{"users available", `{` + w + `,"event":"website:users:available","data":{"available":true},"timestamp":1}`,
			bridge.Event{Name: "website:users:available", Via: bridge.ViaHooks, WebsiteID: "42286ab3-b29a-4fde-8538-da0ae501d825",
				Timestamp: 1, Available: &avail}, nil},
		{"unhandled event", `{` + w + `,"event":"message:removed","data":{"session_id":"s","fingerprint":1},"timestamp":1}`, bridge.Event{}, crisp.ErrUnhandled},
		{"unhandled event with odd data", `{` + w + `,"event":"people:profile:created","data":[1],"timestamp":1}`, bridge.Event{}, crisp.ErrUnhandled},
		{"not json", `event=message:send`, bridge.Event{}, crisp.ErrMalformed},
		{"empty", ``, bridge.Event{}, crisp.ErrMalformed},
		{"trailing data", vectorBody + `{}`, bridge.Event{}, crisp.ErrMalformed},
		{"no event", `{` + w + `,"data":{}}`, bridge.Event{}, crisp.ErrMalformed},
		{"no data", `{` + w + `,"event":"message:send"}`, bridge.Event{}, crisp.ErrMalformed},
		{"data not an object", `{` + w + `,"event":"message:send","data":"hi"}`, bridge.Event{}, crisp.ErrMalformed},
		{"no session", `{` + w + `,"event":"message:send","data":{"fingerprint":1,"type":"text","content":"x"}}`, bridge.Event{}, crisp.ErrMalformed},
		{"no website", `{"event":"session:set_state","data":{"session_id":"s","state":"resolved"}}`, bridge.Event{}, crisp.ErrMalformed},
		{"bad envelope timestamp", `{` + w + `,"event":"session:set_state","data":{"session_id":"s","state":"resolved"},"timestamp":"x"}`, bridge.Event{}, crisp.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := crisp.DecodeHook([]byte(tt.body))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("DecodeHook error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeHook: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeHook =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeHook checks that no body makes DecodeHook panic, that every failure is classified and
// that every success is an event the bridge can use.
func FuzzDecodeHook(f *testing.F) {
	f.Add([]byte(vectorBody))
	f.Add([]byte(`{"website_id":"w","event":"message:updated","data":{"session_id":"s","fingerprint":1,"content":{"id":"p","choices":[{"value":"enum:start_chatbot","selected":true}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := crisp.DecodeHook(body)
		if err != nil {
			if !errors.Is(err, crisp.ErrMalformed) && !errors.Is(err, crisp.ErrUnhandled) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if !crisp.Handled(ev.Name) || ev.Via != bridge.ViaHooks || ev.WebsiteID == "" {
			t.Fatalf("bad event %+v", ev)
		}
		switch ev.Name {
		case bridge.EventMessageSend, bridge.EventMessageReceived, bridge.EventMessageUpdated:
			if ev.SessionID == "" || ev.Fingerprint == 0 || ev.Message == nil {
				t.Fatalf("bad message event %+v", ev)
			}
		case bridge.EventSessionSetData:
			if ev.SessionID == "" || ev.Data == nil {
				t.Fatalf("bad data event %+v", ev)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	v := crisp.HookVerifier{Secret: vectorSecret, MaxAge: -1}
	h := signed(vectorTimestamp, vectorSignature)
	body := []byte(vectorBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(h, nil, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHook(b *testing.B) {
	body := []byte(vectorBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := crisp.DecodeHook(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHookReplayCache: the same body is accepted once within its retention, again after Release
// (Crisp's retry of a hook that could not be queued) or once it expired; the cache stays bounded.
func TestHookReplayCache(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	c := crisp.NewReplayCache(3)
	a, b := []byte(vectorBody), []byte(strings.Replace(vectorBody, "Hey :)", "Hey :(", 1))
	until := now.Add(10 * time.Minute)
	if err := c.Reserve(a, now, until); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	if err := c.Reserve(a, now.Add(time.Second), until); !errors.Is(err, crisp.ErrReplayed) {
		t.Fatalf("replay: %v, want ErrReplayed", err)
	}
	if err := c.Reserve(b, now, until); err != nil {
		t.Fatalf("another body: %v", err)
	}
	c.Release(a)
	if err := c.Reserve(a, now.Add(2*time.Second), until); err != nil {
		t.Fatalf("retry after release: %v", err)
	}
	if err := c.Reserve(a, until, until.Add(time.Minute)); err != nil {
		t.Fatalf("after the retention: %v", err)
	}
	// Full of live entries: a new body is refused (Crisp retries it), never a live entry forgotten.
	accepted := 0
	for i := range 10 {
		body := []byte(strconv.Itoa(i))
		err := c.Reserve(body, now.Add(3*time.Second), until)
		if errors.Is(err, crisp.ErrReplayCacheFull) {
			break
		}
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		accepted++
		if n := c.Len(); n > 3 {
			t.Fatalf("cache holds %d entries, want at most 3", n)
		}
	}
	if accepted != 2 {
		t.Errorf("%d new bodies accepted beside the live one, want 2 (a cache of 3)", accepted)
	}
	for i := range accepted {
		if err := c.Reserve([]byte(strconv.Itoa(i)), now.Add(4*time.Second), until); !errors.Is(err, crisp.ErrReplayed) {
			t.Fatalf("replay of body %d: %v, want ErrReplayed", i, err)
		}
	}
}

// TestWebsiteHookReplay drives a website-key hook through verification and the replay cache the way
// the bridge's intake does: fresh and new is accepted, the same request again is a replay, and a
// request with a rewritten (unsigned) envelope time outside the window is stale.
func TestWebsiteHookReplay(t *testing.T) {
	now := time.Now()
	v := crisp.HookVerifier{WebsiteKey: "k", Now: at(now)}
	c := crisp.NewReplayCache(0)
	body := []byte(strings.ReplaceAll(vectorBody, "1506985696616", strconv.FormatInt(now.UnixMilli(), 10)))
	key := url.Values{"key": {"k"}}
	intake := func(b []byte) error {
		if err := v.Verify(nil, key, b); err != nil {
			return err
		}
		return c.Reserve(b, now, now.Add(2*v.Window()))
	}
	if err := intake(body); err != nil {
		t.Fatalf("fresh hook: %v", err)
	}
	if err := intake(body); !errors.Is(err, crisp.ErrReplayed) {
		t.Fatalf("same hook again: %v, want ErrReplayed", err)
	}
	old := []byte(strings.ReplaceAll(vectorBody, "1506985696616", strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10)))
	if err := intake(old); !errors.Is(err, crisp.ErrStale) {
		t.Fatalf("an hour-old envelope: %v, want ErrStale", err)
	}
}
