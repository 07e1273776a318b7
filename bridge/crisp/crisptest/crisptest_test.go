package crisptest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

const (
	website = "42286ab3-b29a-4fde-8538-da0ae501d825"
	ident   = "ident-123"
	key     = "key-secret-456"
)

// MustStart starts a fake Crisp with one website and closes it at the end of the test.
func MustStart(tb testing.TB, opts crisptest.Options) *crisptest.Server {
	tb.Helper()
	if opts.Identifier == "" {
		opts.Identifier, opts.Key = ident, key
	}
	if opts.Websites == nil {
		opts.Websites = []string{website}
	}
	s, err := crisptest.Start(opts)
	if err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// envelope is Crisp's response envelope.
type envelope struct {
	Error  bool            `json:"error"`
	Reason string          `json:"reason"`
	Data   json.RawMessage `json:"data"`
}

// client calls the fake's REST API like a Crisp client does.
type client struct {
	base, id, key, tier string
}

func newClient(s *crisptest.Server) *client {
	return &client{base: s.RESTURL(), id: ident, key: key, tier: "plugin"}
}

func (c *client) do(tb testing.TB, method, path string, body any) (int, envelope) {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if c.id != "" || c.key != "" {
		req.SetBasicAuth(c.id, c.key)
	}
	if c.tier != "" {
		req.Header.Set("X-Crisp-Tier", c.tier)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var env envelope
	if method != http.MethodHead {
		if err := json.Unmarshal(raw, &env); err != nil {
			tb.Fatalf("%s %s: body %q is not an envelope: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, env
}

// mustDo calls the API and fails unless the status is want.
func (c *client) mustDo(tb testing.TB, want int, method, path string, body any) envelope {
	tb.Helper()
	status, env := c.do(tb, method, path, body)
	if status != want {
		tb.Fatalf("%s %s: got status %d %+v, want %d", method, path, status, env, want)
	}
	return env
}

func convPath(session string) string { return "website/" + website + "/conversation/" + session }

func decode[T any](tb testing.TB, raw json.RawMessage) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// eventNames returns the names of the events after seq.
func eventNames(s *crisptest.Server, after int64) []string {
	var out []string
	for _, ev := range s.Events(after) {
		out = append(out, ev.Name)
	}
	return out
}

func TestSignVector(t *testing.T) {
	body := `{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825","event":"message:send","data":{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825","session_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f","type":"text","content":"Hey :)","from":"user","origin":"chat","stamped":true,"timestamp":1506985696616,"fingerprint":150698569649423,"user":{"nickname":"visitor493603","user_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f"}},"timestamp":1506985696616}`
	got := crisptest.Sign("914a657d8cc2efbc20593f1806f9bde2", "1506985696616", []byte(body))
	if want := "fb82ff6bcf5ee036ac24450c4f47b8915c81fcfcb926cdec145d06c9bce212f4"; got != want {
		t.Fatalf("Sign: got %s, want %s", got, want)
	}
}

func TestAuth(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	tests := []struct {
		name        string
		id, k, tier string
		path        string
		wantStatus  int
		wantReason  string
	}{
		{"no credentials", "", "", "plugin", "website/" + website + "/availability/status", 401, "not_allowed"},
		{"wrong key", ident, "nope", "plugin", "website/" + website + "/availability/status", 401, "not_allowed"},
		{"wrong identifier", "nope", key, "plugin", "website/" + website + "/availability/status", 401, "not_allowed"},
		{"user tier", ident, key, "user", "website/" + website + "/availability/status", 403, "not_allowed"},
		{"no tier", ident, key, "", "website/" + website + "/availability/status", 403, "not_allowed"},
		{"website tier", ident, key, "website", "website/" + website + "/availability/status", 200, "resolved"},
		{"website tier on plugin route", ident, key, "website", "plugin/connect/account", 403, "not_allowed"},
		{"plugin tier", ident, key, "plugin", "plugin/connect/account", 200, "resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{base: s.RESTURL(), id: tt.id, key: tt.k, tier: tt.tier}
			status, env := c.do(t, "GET", tt.path, nil)
			if status != tt.wantStatus || env.Reason != tt.wantReason || env.Error != (status >= 400) {
				t.Fatalf("got %d %+v, want %d %s", status, env, tt.wantStatus, tt.wantReason)
			}
		})
	}
}

func TestErrorsAndEnvelopes(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hello"); err != nil {
		t.Fatal(err)
	}
	sess := v.SessionID()
	msg := convPath(sess) + "/message"
	tests := []struct {
		name, method, path string
		body               any
		wantStatus         int
		wantReason         string
		wantMessage        string // substring of data.message
	}{
		{"unknown route", "GET", "website/" + website + "/nothing", nil, 404, "not_found", "the route does not exist"},
		{"wrong method", "PUT", convPath(sess) + "/state", map[string]any{"state": "resolved"}, 404, "not_found", "route does not exist"},
		{"website not installed", "GET", "website/0000/conversation/" + sess, nil, 404, "not_subscribed", ""},
		{"unknown session", "GET", convPath("session_nope"), nil, 404, "not_found", "session"},
		{"unknown message", "GET", msg + "/123", nil, 404, "not_found", "message"},
		{"missing origin", "POST", msg, map[string]any{"type": "text", "from": "operator", "content": "hi"}, 400, "invalid_data", "required property '.origin'"},
		{"bad type", "POST", msg, map[string]any{"type": "poem", "from": "operator", "origin": "chat", "content": "hi"}, 400, "invalid_data", "data.type"},
		{"bad from", "POST", msg, map[string]any{"type": "text", "from": "bot", "origin": "chat", "content": "hi"}, 400, "invalid_data", "data.from"},
		{"text content not string", "POST", msg, map[string]any{"type": "text", "from": "operator", "origin": "chat", "content": map[string]any{}}, 400, "invalid_data", "data.content"},
		{"picker without choices", "POST", msg, map[string]any{"type": "picker", "from": "operator", "origin": "chat", "content": map[string]any{"id": "a", "text": "b"}}, 400, "invalid_data", "choices"},
		{"non-JSON body", "POST", msg, "{nope", 400, "invalid_data", "JSON"},
		{"empty body", "PATCH", convPath(sess) + "/state", "", 400, "invalid_data", "object"},
		{"bad state", "PATCH", convPath(sess) + "/state", map[string]any{"state": "closed"}, 400, "invalid_data", "data.state"},
		{"bad data value", "PATCH", convPath(sess) + "/meta", map[string]any{"data": map[string]any{"a": []int{1}}}, 400, "invalid_data", "data.data"},
		{"bad email", "PATCH", convPath(sess) + "/meta", map[string]any{"email": "nope"}, 400, "invalid_data", "email"},
		{"read without origin", "PATCH", convPath(sess) + "/read", map[string]any{"from": "operator"}, 400, "invalid_data", "origin"},
		{"assign to a stranger", "PATCH", convPath(sess) + "/routing", map[string]any{"assigned": map[string]any{"user_id": "x"}}, 400, "invalid_data", "operator"},
		{"bad fingerprint", "PATCH", msg + "/abc", map[string]any{"content": "x"}, 400, "invalid_data", "fingerprint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := c.do(t, tt.method, tt.path, tt.body)
			if status != tt.wantStatus || !env.Error || env.Reason != tt.wantReason {
				t.Fatalf("got %d %+v, want %d %s", status, env, tt.wantStatus, tt.wantReason)
			}
			data := decode[map[string]any](t, env.Data)
			if m, _ := data["message"].(string); !strings.Contains(m, tt.wantMessage) {
				t.Fatalf("got data.message %q, want it to contain %q", m, tt.wantMessage)
			}
		})
	}
	// Bad input changed nothing, and the server still answers.
	conv, _ := s.Conversation(website, sess)
	if len(conv.Messages) != 1 || conv.State != "pending" {
		t.Fatalf("got %d messages state %s after bad input, want 1 pending", len(conv.Messages), conv.State)
	}
	c.mustDo(t, 200, "GET", convPath(sess), nil)
}

func TestSendMessageAndStates(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	v := s.Visitor(website, "", crisptest.VisitorInfo{Nickname: "Jane"})
	before := time.Now().UnixMilli()
	fp1, err := v.Send("Hey :)")
	if err != nil {
		t.Fatal(err)
	}
	sess := v.SessionID()
	if !strings.HasPrefix(sess, "session_") || len(sess) != len("session_")+36 {
		t.Fatalf("got session id %q, want session_<uuid>", sess)
	}
	if ms := fp1 / 100; ms < before || ms > time.Now().UnixMilli() {
		t.Fatalf("got fingerprint %d, want ms timestamp*100+2 digits around %d", fp1, before)
	}
	st := decode[map[string]string](t, c.mustDo(t, 200, "GET", convPath(sess)+"/state", nil).Data)
	if st["state"] != "pending" {
		t.Fatalf("got state %q, want pending", st["state"])
	}

	// A note does not count as a reply.
	seq := s.LastSeq()
	c.mustDo(t, 202, "POST", convPath(sess)+"/message", map[string]any{"type": "note", "from": "operator", "origin": "urn:acme:bot:0", "content": "internal"})
	if got := eventNames(s, seq); strings.Join(got, ",") != "message:received" {
		t.Fatalf("got events %v after a note, want [message:received]", got)
	}

	// The first operator reply (a bot's) flips pending -> unresolved.
	seq = s.LastSeq()
	env := c.mustDo(t, 202, "POST", convPath(sess)+"/message", map[string]any{
		"type": "text", "from": "operator", "origin": "urn:acme:bot:0", "content": "Hello <b>&</b>",
		"user": map[string]any{"nickname": "Bot", "type": "participant"},
	})
	if env.Reason != "dispatched" {
		t.Fatalf("got reason %q, want dispatched", env.Reason)
	}
	fp := decode[map[string]int64](t, env.Data)["fingerprint"]
	if fp <= fp1 {
		t.Fatalf("got fingerprint %d, want above %d", fp, fp1)
	}
	evs := s.Events(seq)
	if len(evs) != 2 || evs[0].Name != "message:received" || evs[1].Name != "session:set_state" {
		t.Fatalf("got events %v, want message:received then session:set_state", eventNames(s, seq))
	}
	echo := decode[map[string]any](t, evs[0].Data)
	if echo["content"] != "Hello <b>&</b>" || echo["from"] != "operator" || echo["origin"] != "urn:acme:bot:0" || int64(echo["fingerprint"].(float64)) != fp {
		t.Fatalf("got echo %s", evs[0].Data)
	}
	if !bytes.Contains(evs[0].Data, []byte("<b>&</b>")) {
		t.Fatalf("got echo %s, want HTML characters unescaped (JS-style JSON)", evs[0].Data)
	}
	if got := decode[map[string]string](t, evs[1].Data)["state"]; got != "unresolved" {
		t.Fatalf("got state event %s", evs[1].Data)
	}

	// A second reply does not emit set_state again.
	seq = s.LastSeq()
	c.mustDo(t, 202, "POST", convPath(sess)+"/message", map[string]any{"type": "text", "from": "operator", "origin": "chat", "content": "more"})
	if got := eventNames(s, seq); strings.Join(got, ",") != "message:received" {
		t.Fatalf("got %v, want only message:received", got)
	}

	// from:"user" is echoed as message:send.
	seq = s.LastSeq()
	c.mustDo(t, 202, "POST", convPath(sess)+"/message", map[string]any{"type": "text", "from": "user", "origin": "urn:acme:bot:0", "content": "as visitor"})
	if got := eventNames(s, seq); strings.Join(got, ",") != "message:send" {
		t.Fatalf("got %v, want message:send", got)
	}

	// Resolve, then a visitor message reopens.
	if err := s.Resolve(website, sess); err != nil {
		t.Fatal(err)
	}
	seq = s.LastSeq()
	if _, err := v.Send("one more thing"); err != nil {
		t.Fatal(err)
	}
	if got := eventNames(s, seq); strings.Join(got, ",") != "message:send,session:set_state" {
		t.Fatalf("got %v, want message:send,session:set_state", got)
	}
	conv, _ := s.Conversation(website, sess)
	if conv.State != "unresolved" || len(conv.Messages) != 6 {
		t.Fatalf("got state %s with %d messages, want unresolved with 6", conv.State, len(conv.Messages))
	}

	// PATCH state is validated, stored and emitted once.
	seq = s.LastSeq()
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/state", map[string]any{"state": "pending"})
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/state", map[string]any{"state": "pending"})
	if got := eventNames(s, seq); strings.Join(got, ",") != "session:set_state" {
		t.Fatalf("got %v, want one session:set_state", got)
	}
}

func TestMessagesRoutes(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	created := decode[map[string]string](t, c.mustDo(t, 201, "POST", "website/"+website+"/conversation", nil).Data)
	sess := created["session_id"]
	if !strings.HasPrefix(sess, "session_") {
		t.Fatalf("got session %q", sess)
	}
	var fps []int64
	for _, text := range []string{"a", "b", "c"} {
		env := c.mustDo(t, 202, "POST", convPath(sess)+"/message", map[string]any{"type": "text", "from": "operator", "origin": "chat", "content": text})
		fps = append(fps, decode[map[string]int64](t, env.Data)["fingerprint"])
	}
	all := decode[[]crisptest.Message](t, c.mustDo(t, 200, "GET", convPath(sess)+"/messages", nil).Data)
	if len(all) != 3 || all[0].Content != "a" || all[2].Fingerprint != fps[2] {
		t.Fatalf("got messages %+v", all)
	}
	before := decode[[]crisptest.Message](t, c.mustDo(t, 200, "GET", convPath(sess)+"/messages?timestamp_before="+itoa(all[0].Timestamp+1), nil).Data)
	for _, m := range before {
		if m.Timestamp > all[0].Timestamp {
			t.Fatalf("timestamp_before returned %+v", m)
		}
	}
	after := decode[[]crisptest.Message](t, c.mustDo(t, 200, "GET", convPath(sess)+"/messages?timestamp_after="+itoa(all[2].Timestamp), nil).Data)
	if len(after) != 0 {
		t.Fatalf("timestamp_after the last returned %+v", after)
	}

	seq := s.LastSeq()
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/message/"+itoa(fps[1]), map[string]any{"content": "b2"})
	ev, err := s.WaitEvent(testCtx(t), seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	upd := decode[map[string]any](t, ev.Data)
	if ev.Name != "message:updated" || upd["content"] != "b2" || int64(upd["fingerprint"].(float64)) != fps[1] {
		t.Fatalf("got %s %s", ev.Name, ev.Data)
	}
	one := decode[crisptest.Message](t, c.mustDo(t, 200, "GET", convPath(sess)+"/message/"+itoa(fps[1]), nil).Data)
	if one.Content != "b2" || !one.Edited {
		t.Fatalf("got %+v", one)
	}
	c.mustDo(t, 400, "PATCH", convPath(sess)+"/message/"+itoa(fps[1]), map[string]any{"content": map[string]any{"x": 1}})

	seq = s.LastSeq()
	c.mustDo(t, 200, "DELETE", convPath(sess)+"/message/"+itoa(fps[0]), nil)
	if got := eventNames(s, seq); strings.Join(got, ",") != "message:removed" {
		t.Fatalf("got %v", got)
	}
	c.mustDo(t, 404, "GET", convPath(sess)+"/message/"+itoa(fps[0]), nil)

	conv := decode[map[string]any](t, c.mustDo(t, 200, "GET", convPath(sess), nil).Data)
	if conv["session_id"] != sess || conv["state"] != "unresolved" || conv["last_message"] != "c" {
		t.Fatalf("got conversation %v", conv)
	}
	list := decode[[]map[string]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/conversations/1", nil).Data)
	if len(list) != 1 || list[0]["session_id"] != sess {
		t.Fatalf("got list %v", list)
	}
	if empty := decode[[]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/conversations/2", nil).Data); len(empty) != 0 {
		t.Fatalf("got page 2 %v", empty)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMetaDataEdges(t *testing.T) {
	tests := []struct {
		name      string
		emitSame  bool
		wantEvent bool
	}{
		{"unchanged value emits nothing", false, false},
		{"unchanged value emits with the switch on", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustStart(t, crisptest.Options{EmitUnchangedData: tt.emitSame})
			v := s.Visitor(website, "", crisptest.VisitorInfo{})
			if err := v.SetData(map[string]any{"enum": "start_chatbot", "plan": "pro"}); err != nil {
				t.Fatal(err)
			}
			seq := s.LastSeq()
			if err := v.SetData(map[string]any{"enum": "start_chatbot"}); err != nil {
				t.Fatal(err)
			}
			if got := len(s.Events(seq)) > 0; got != tt.wantEvent {
				t.Fatalf("got event %v after an unchanged write, want %v", got, tt.wantEvent)
			}
			// A changed value always emits, with the full map.
			seq = s.LastSeq()
			if err := v.SetData(map[string]any{"enum": "pause_chatbot"}); err != nil {
				t.Fatal(err)
			}
			evs := s.Events(seq)
			if len(evs) != 1 || evs[0].Name != "session:set_data" {
				t.Fatalf("got %v", eventNames(s, seq))
			}
			data := decode[struct {
				Data map[string]any `json:"data"`
			}](t, evs[0].Data).Data
			if data["enum"] != "pause_chatbot" || data["plan"] != "pro" {
				t.Fatalf("got data %v, want the full map", data)
			}
		})
	}
}

func TestPatchMeta(t *testing.T) {
	tests := []struct {
		name     string
		merge    bool
		wantData map[string]any
		wantSegs []string
	}{
		{"replace", false, map[string]any{"b": "2"}, []string{"y"}},
		{"merge", true, map[string]any{"a": "1", "b": "2"}, []string{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustStart(t, crisptest.Options{MergeMeta: tt.merge})
			c := newClient(s)
			v := s.Visitor(website, "", crisptest.VisitorInfo{Locales: []string{"fr-FR", "fr"}, Country: "FR", Email: "jane@example.com"})
			if _, err := v.Send("bonjour"); err != nil {
				t.Fatal(err)
			}
			path := convPath(v.SessionID()) + "/meta"
			meta := decode[map[string]any](t, c.mustDo(t, 200, "GET", path, nil).Data)
			device := meta["device"].(map[string]any)
			if meta["email"] != "jane@example.com" || device["geolocation"].(map[string]any)["country"] != "FR" || device["locales"].([]any)[0] != "fr-FR" {
				t.Fatalf("got meta %v, want it seeded from the visitor", meta)
			}
			c.mustDo(t, 200, "PATCH", path, map[string]any{"data": map[string]any{"a": "1"}, "segments": []string{"x"}})
			seq := s.LastSeq()
			c.mustDo(t, 200, "PATCH", path, map[string]any{"data": map[string]any{"b": "2"}, "segments": []string{"y"}, "email": "new@example.com"})
			if got := strings.Join(eventNames(s, seq), ","); got != "session:set_email,session:set_data,session:set_segments" {
				t.Fatalf("got events %s", got)
			}
			conv, _ := s.Conversation(website, v.SessionID())
			if len(conv.Data) != len(tt.wantData) || conv.Data["b"] != "2" || strings.Join(conv.Segments, ",") != strings.Join(tt.wantSegs, ",") {
				t.Fatalf("got data %v segments %v, want %v %v", conv.Data, conv.Segments, tt.wantData, tt.wantSegs)
			}
			// The same PATCH again changes nothing and emits nothing.
			seq = s.LastSeq()
			c.mustDo(t, 200, "PATCH", path, map[string]any{"data": map[string]any{"b": "2"}, "segments": []string{"y"}, "email": "new@example.com"})
			if tt.merge == false {
				if got := eventNames(s, seq); len(got) != 0 {
					t.Fatalf("got %v after an unchanged PATCH", got)
				}
			}
		})
	}
}

func TestPickerClickAndField(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		t.Fatal(err)
	}
	env := c.mustDo(t, 202, "POST", convPath(v.SessionID())+"/message", map[string]any{
		"type": "picker", "from": "operator", "origin": "urn:crisp.im:bot:0",
		"content": map[string]any{"id": "ai", "text": "Talk to the AI?", "choices": []map[string]any{
			{"value": "enum:start_chatbot", "label": "Yes"}, {"value": "enum:pause_chatbot", "label": "No", "selected": false},
		}},
	})
	fp := decode[map[string]int64](t, env.Data)["fingerprint"]
	seq := s.LastSeq()
	if err := v.Click(fp, "enum:start_chatbot"); err != nil {
		t.Fatal(err)
	}
	evs := s.Events(seq)
	if len(evs) != 1 || evs[0].Name != "message:updated" {
		t.Fatalf("got %v", eventNames(s, seq))
	}
	upd := decode[pickerUpdate](t, evs[0].Data)
	if upd.Fingerprint != fp || upd.Content.ID != "ai" || upd.Content.Text == "" || len(upd.Content.Choices) != 2 ||
		!upd.Content.Choices[0].Selected || upd.Content.Choices[1].Selected {
		t.Fatalf("got %s, want the full picker with the first choice selected", evs[0].Data)
	}
	if err := v.Click(fp, "enum:nothing"); err == nil {
		t.Fatal("click on a missing choice: got no error")
	}

	env = c.mustDo(t, 202, "POST", convPath(v.SessionID())+"/message", map[string]any{
		"type": "field", "from": "operator", "origin": "chat",
		"content": map[string]any{"id": "email", "text": "Your email?", "explain": "Email"},
	})
	ffp := decode[map[string]int64](t, env.Data)["fingerprint"]
	if err := v.Click(ffp, "x"); err == nil {
		t.Fatal("click on a field: got no error")
	}
	seq = s.LastSeq()
	if err := v.Fill(ffp, "jane@example.com"); err != nil {
		t.Fatal(err)
	}
	ev, err := s.WaitEvent(testCtx(t), seq, func(e crisptest.Event) bool { return e.Name == "message:updated" })
	if err != nil {
		t.Fatal(err)
	}
	content := decode[struct {
		Content map[string]any `json:"content"`
	}](t, ev.Data).Content
	if content["value"] != "jane@example.com" || content["explain"] != "Email" {
		t.Fatalf("got %s", ev.Data)
	}
	conv, _ := s.Conversation(website, v.SessionID())
	m, _ := conv.Message(ffp)
	if m.Content.(map[string]any)["value"] != "jane@example.com" {
		t.Fatalf("got stored field %v", m.Content)
	}
}

// pickerUpdate is the data of message:updated for a picker.
type pickerUpdate struct {
	Fingerprint int64 `json:"fingerprint"`
	Content     struct {
		ID      string `json:"id"`
		Text    string `json:"text"`
		Choices []struct {
			Value    string `json:"value"`
			Selected bool   `json:"selected"`
		} `json:"choices"`
	} `json:"content"`
}

func TestComposeRoutingAndPresence(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		t.Fatal(err)
	}
	sess := v.SessionID()
	seq := s.LastSeq()
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/compose", map[string]any{"type": "start", "from": "operator"})
	conv, _ := s.Conversation(website, sess)
	if conv.Compose != "start" || strings.Join(eventNames(s, seq), ",") != "message:compose:receive" {
		t.Fatalf("got compose %q events %v", conv.Compose, eventNames(s, seq))
	}
	c.mustDo(t, 202, "POST", convPath(sess)+"/message", map[string]any{"type": "text", "from": "operator", "origin": "chat", "content": "answer"})
	if conv, _ = s.Conversation(website, sess); conv.Compose != "" {
		t.Fatalf("got compose %q after an operator message, want it cleared", conv.Compose)
	}
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/compose", map[string]any{"type": "stop", "from": "operator"})
	if conv, _ = s.Conversation(website, sess); conv.Compose != "stop" {
		t.Fatalf("got compose %q, want stop", conv.Compose)
	}

	op := crisptest.DefaultOperator.UserID
	seq = s.LastSeq()
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/routing", map[string]any{"assigned": map[string]any{"user_id": op}})
	routing := decode[map[string]map[string]string](t, c.mustDo(t, 200, "GET", convPath(sess)+"/routing", nil).Data)
	if routing["assigned"]["user_id"] != op || strings.Join(eventNames(s, seq), ",") != "session:set_routing" {
		t.Fatalf("got routing %v events %v", routing, eventNames(s, seq))
	}
	c.mustDo(t, 200, "PATCH", convPath(sess)+"/routing", map[string]any{"assigned": nil})
	if conv, _ = s.Conversation(website, sess); conv.Assigned != "" {
		t.Fatalf("got assigned %q after unassign", conv.Assigned)
	}

	status := decode[map[string]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/availability/status", nil).Data)
	if status["status"] != "away" {
		t.Fatalf("got %v with everyone offline", status)
	}
	seq = s.LastSeq()
	if err := s.SetOperatorOnline(website, "", true); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eventNames(s, seq), ","); got != "website:update_operators_availability,website:users:available" {
		t.Fatalf("got %s", got)
	}
	evs := s.Events(seq)
	if string(evs[1].Data) != `{"available":true,"website_id":"`+website+`"}` {
		t.Fatalf("got %s", evs[1].Data)
	}
	status = decode[map[string]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/availability/status", nil).Data)
	ops := decode[[]map[string]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/availability/operators", nil).Data)
	list := decode[[]struct {
		Details map[string]any `json:"details"`
	}](t, c.mustDo(t, 200, "GET", "website/"+website+"/operators/list", nil).Data)
	active := decode[[]map[string]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/operators/active", nil).Data)
	if status["status"] != "online" || ops[0]["type"] != "online" || list[0].Details["availability"] != "online" || active[0]["user_id"] != op {
		t.Fatalf("got status %v operators %v list %v active %v", status, ops, list, active)
	}
	// A second operator coming online changes the operator, not the website availability.
	if err := s.AddOperator(website, crisptest.Operator{UserID: "op-2", Nickname: "Sam"}); err != nil {
		t.Fatal(err)
	}
	seq = s.LastSeq()
	if err := s.SetOperatorOnline(website, "op-2", true); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eventNames(s, seq), ","); got != "website:update_operators_availability" {
		t.Fatalf("got %s", got)
	}
}

func TestPluginConnect(t *testing.T) {
	s := MustStart(t, crisptest.Options{PluginID: "plugin-1"})
	c := newClient(s)
	ep := decode[map[string]map[string]any](t, c.mustDo(t, 200, "GET", "plugin/connect/endpoints", nil).Data)
	if ep["socket"]["app"] != s.RTMURL() || !strings.HasPrefix(s.RTMURL(), "ws://127.0.0.1:") || !strings.HasSuffix(s.RTMURL(), "/p/1/") {
		t.Fatalf("got endpoints %v, RTMURL %s", ep, s.RTMURL())
	}
	if acc := decode[map[string]string](t, c.mustDo(t, 200, "GET", "plugin/connect/account", nil).Data); acc["plugin_id"] != "plugin-1" {
		t.Fatalf("got %v", acc)
	}
	s.AddWebsite("second")
	sites := decode[[]map[string]any](t, c.mustDo(t, 200, "GET", "plugin/connect/websites/all/1", nil).Data)
	if len(sites) != 2 {
		t.Fatalf("got %v", sites)
	}
	c.mustDo(t, 200, "HEAD", "plugin/connect/session", nil)
}

func TestRESTFaults(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		t.Fatal(err)
	}
	msg := convPath(v.SessionID()) + "/message"
	body := map[string]any{"type": "text", "from": "operator", "origin": "chat", "content": "x"}

	s.FailNext(crisptest.RESTFault{Status: 429, Count: 2, Method: "POST", Path: "/message"})
	c.mustDo(t, 200, "GET", convPath(v.SessionID())+"/state", nil) // other routes unaffected
	for range 2 {
		if status, env := c.do(t, "POST", msg, body); status != 429 || !env.Error {
			t.Fatalf("got %d %+v, want 429", status, env)
		}
	}
	c.mustDo(t, 202, "POST", msg, body)
	if conv, _ := s.Conversation(website, v.SessionID()); len(conv.Messages) != 2 {
		t.Fatalf("got %d messages, want 2 (rate-limited calls commit nothing)", len(conv.Messages))
	}

	s.FailNext(crisptest.RESTFault{Status: 503, AfterCommit: true})
	if status, _ := c.do(t, "POST", msg, body); status != 503 {
		t.Fatalf("got %d, want 503", status)
	}
	if conv, _ := s.Conversation(website, v.SessionID()); len(conv.Messages) != 3 {
		t.Fatalf("got %d messages, want 3 (committed before the 503)", len(conv.Messages))
	}
	s.FailNext(crisptest.RESTFault{Status: 420})
	if status, _ := c.do(t, "GET", "plugin/connect/account", nil); status != 420 {
		t.Fatalf("got %d, want 420", status)
	}
	if s.PendingFaults() != 0 {
		t.Fatalf("got %d pending faults", s.PendingFaults())
	}

	s.SetLatency(50 * time.Millisecond)
	start := time.Now()
	c.mustDo(t, 200, "GET", "plugin/connect/account", nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("got an answer after %v, want at least the added 50ms", d)
	}
	s.ClearFaults()

	calls := s.Calls()
	if n := s.CallCount("POST", "/message"); n != 4 {
		t.Fatalf("got %d POST message calls recorded, want 4", n)
	}
	last := calls[len(calls)-1]
	if last.Method != "GET" || last.Path != "/v1/plugin/connect/account" || last.Status != 200 || last.Tier != "plugin" {
		t.Fatalf("got last call %+v", last)
	}
	s.ResetCalls()
	if len(s.Calls()) != 0 {
		t.Fatal("ResetCalls kept calls")
	}
}

func TestWait(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	done := make(chan error, 1)
	go func() {
		_, err := s.WaitMessages(testCtx(t), website, v.SessionID(), 3)
		done <- err
	}()
	for _, text := range []string{"1", "2", "3"} {
		if _, err := v.Send(text); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitMessages: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, func(*crisptest.Server) bool { return false }); err == nil {
		t.Fatal("Wait on an impossible condition: got no error")
	}
}

func TestSubscribe(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	evs, stop := s.Subscribe()
	defer stop()
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	const n = 50
	for i := range n {
		if err := v.SetData(map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := testCtx(t)
	for i := range n {
		select {
		case ev := <-evs:
			got := decode[struct {
				Data map[string]int `json:"data"`
			}](t, ev.Data).Data["i"]
			if ev.Name != "session:set_data" || got != i {
				t.Fatalf("event %d: got %s %s", i, ev.Name, ev.Data)
			}
		case <-ctx.Done():
			t.Fatalf("got %d events, want %d", i, n)
		}
	}
	stop()
	for range evs { // drains and ends: the channel is closed
	}
}

func TestNotSubscribedControls(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	if _, err := s.Visitor("elsewhere", "", crisptest.VisitorInfo{}).Send("hi"); err == nil || !errors.Is(err, crisptest.ErrNotSubscribed) {
		t.Fatalf("got %v, want ErrNotSubscribed", err)
	}
	if _, err := s.OperatorReply(website, "session_none", "", "hi"); !errors.Is(err, crisptest.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}
