package crisptest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// sandbox posts or gets a sandbox route and decodes the JSON answer into out (when not nil).
func sandbox(tb testing.TB, s *crisptest.Server, method, path string, body any, wantStatus int, out any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		if str, ok := body.(string); ok {
			raw = []byte(str)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL()+"/_sandbox/"+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		tb.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, raw, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
}

func TestSandboxAPI(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	var sent struct {
		SessionID   string `json:"session_id"`
		Fingerprint int64  `json:"fingerprint"`
	}
	// website_id may be left out when there is one website.
	sandbox(t, s, "POST", "visitor/send", map[string]any{"text": "hello", "locales": []string{"de"}, "country": "DE"}, 200, &sent)
	if sent.SessionID == "" || sent.Fingerprint == 0 {
		t.Fatalf("got %+v", sent)
	}
	ids := map[string]any{"website_id": website, "session_id": sent.SessionID}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range ids {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	sandbox(t, s, "POST", "visitor/data", with("data", map[string]any{"enum": "start_chatbot"}), 200, nil)
	sandbox(t, s, "POST", "visitor/email", with("email", "v@example.com"), 200, nil)
	sandbox(t, s, "POST", "operator/online", map[string]any{"website_id": website}, 200, nil)
	var reply struct {
		Fingerprint int64 `json:"fingerprint"`
	}
	sandbox(t, s, "POST", "operator/reply", with("text", "Hi, Alex here"), 200, &reply)
	sandbox(t, s, "POST", "operator/note", with("text", "VIP", "mentions", []string{crisptest.DefaultOperator.UserID}), 200, nil)
	sandbox(t, s, "POST", "operator/assign", with("user_id", crisptest.DefaultOperator.UserID), 200, nil)
	sandbox(t, s, "POST", "operator/compose", with("type", "start"), 200, nil)
	// The Crisp Bot posts a picker; the visitor clicks it.
	var picker struct {
		Fingerprint int64 `json:"fingerprint"`
	}
	sandbox(t, s, "POST", "operator/message", with("message", map[string]any{
		"type": "picker", "origin": "urn:crisp.im:bot:0", "automated": true,
		"content": map[string]any{"id": "ai", "text": "AI?", "choices": []map[string]any{{"value": "enum:start_chatbot", "label": "Yes"}}},
	}), 200, &picker)
	sandbox(t, s, "POST", "visitor/click", with("fingerprint", picker.Fingerprint, "value", "enum:start_chatbot"), 200, nil)
	sandbox(t, s, "POST", "operator/resolve", ids, 200, nil)

	var conv crisptest.Conversation
	sandbox(t, s, "GET", "conversation?website_id="+website+"&session_id="+sent.SessionID, nil, 200, &conv)
	if conv.State != "resolved" || len(conv.Messages) != 4 || conv.Compose != "" || conv.Data["enum"] != "start_chatbot" || conv.Email != "v@example.com" ||
		conv.Country != "DE" || conv.Assigned != crisptest.DefaultOperator.UserID || conv.Messages[1].Fingerprint != reply.Fingerprint {
		t.Fatalf("got %+v", conv)
	}
	var list struct {
		Conversations []crisptest.Conversation `json:"conversations"`
	}
	sandbox(t, s, "GET", "conversations", nil, 200, &list)
	if len(list.Conversations) != 1 {
		t.Fatalf("got %+v", list)
	}
	var sites struct {
		Websites []struct {
			WebsiteID string `json:"website_id"`
			Available bool   `json:"available"`
		} `json:"websites"`
	}
	sandbox(t, s, "GET", "websites", nil, 200, &sites)
	if len(sites.Websites) != 1 || !sites.Websites[0].Available {
		t.Fatalf("got %+v", sites)
	}

	// Errors are JSON with a clear status.
	var e struct {
		Error string `json:"error"`
	}
	sandbox(t, s, "POST", "operator/reply", map[string]any{"website_id": website, "session_id": "session_x", "text": "hi"}, 404, &e)
	sandbox(t, s, "POST", "visitor/click", with("fingerprint", sent.Fingerprint, "value", "x"), 400, &e)
	sandbox(t, s, "POST", "visitor/send", "{nope", 400, &e)
	sandbox(t, s, "POST", "operator/state", with("state", "closed"), 400, &e)
	sandbox(t, s, "POST", "operator/message", with("message", map[string]any{"type": "picker", "content": "x"}), 400, &e)
	sandbox(t, s, "GET", "nothing", nil, 404, &e)
	if e.Error == "" {
		t.Fatal("got no error message")
	}

	// Long poll: everything after 0 at once, nothing after the last before the timeout.
	var page struct {
		Events []crisptest.Event `json:"events"`
		Last   int64             `json:"last"`
	}
	sandbox(t, s, "GET", "events?after=0", nil, 200, &page)
	if len(page.Events) == 0 || page.Events[0].Name != "message:send" || page.Last != s.LastSeq() {
		t.Fatalf("got %+v", page)
	}
	last := page.Last
	sandbox(t, s, "GET", "events?after="+itoa(last)+"&timeout=10", nil, 200, &page)
	if len(page.Events) != 0 {
		t.Fatalf("got %+v after the last event", page.Events)
	}
	sandbox(t, s, "GET", "events?after=x", nil, 400, nil)
}

func TestSandboxStream(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("first"); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/_sandbox/events/stream?after=0", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("got content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	// The stream starts with the server's run id, so a page notices a restarted sandbox.
	for lines.Scan() && lines.Text() != "event: run" {
	}
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "data: ") {
		t.Fatalf("no run event at the start of the stream: %q %v", lines.Text(), lines.Err())
	}
	run := decode[struct {
		Run  string `json:"run"`
		Last int64  `json:"last"`
	}](t, json.RawMessage(strings.TrimPrefix(lines.Text(), "data: ")))
	if run.Run == "" || run.Run != s.RunID() || run.Last != s.LastSeq() {
		t.Fatalf("run event %+v, want run %q last %d", run, s.RunID(), s.LastSeq())
	}
	readEvent := func() crisptest.Event {
		t.Helper()
		var id, name string
		for lines.Scan() {
			line := lines.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case line == "":
				name = ""
			case name != "":
				// a named event (run): not a Crisp event
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev := decode[crisptest.Event](t, json.RawMessage(strings.TrimPrefix(line, "data: ")))
				if id != itoa(ev.Seq) {
					t.Fatalf("got id %s for seq %d", id, ev.Seq)
				}
				return ev
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return crisptest.Event{}
	}
	if ev := readEvent(); ev.Name != "message:send" || ev.SessionID != v.SessionID() {
		t.Fatalf("got %+v", ev)
	}
	// A live event arrives on the open stream.
	if err := v.SetData(map[string]any{"enum": "pause_chatbot"}); err != nil {
		t.Fatal(err)
	}
	ev := readEvent()
	if ev.Name != "session:set_data" {
		t.Fatalf("got %+v", ev)
	}

	// A reconnecting EventSource asks the same URL (?after=0) with Last-Event-ID: the header wins,
	// so the stream resumes after the last event received instead of replaying the history.
	if err := v.SetData(map[string]any{"enum": "start_chatbot"}); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", s.URL()+"/_sandbox/events/stream?after=0", nil)
	req.Header.Set("Last-Event-ID", itoa(ev.Seq))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	lines = bufio.NewScanner(resp2.Body)
	if got := readEvent(); got.Seq != ev.Seq+1 || got.Name != "session:set_data" {
		t.Fatalf("after Last-Event-ID %d the stream sent %+v, want the next event", ev.Seq, got)
	}
	other := crisptest.New(crisptest.Options{})
	defer other.Close()
	if s.RunID() == other.RunID() {
		t.Fatal("two servers share a run id")
	}
}

// TestSandboxGuard: only the sandbox's own page (or a listed origin) drives it; POSTs are JSON only;
// a rebound (non-loopback) Host reaches nothing; no wildcard CORS.
func TestSandboxGuard(t *testing.T) {
	s := MustStart(t, crisptest.Options{SandboxOrigins: []string{"http://127.0.0.1:1"}})
	own := s.URL()
	send := func(origin, host, ctype string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("POST", s.URL()+"/_sandbox/visitor/send", strings.NewReader(`{"text":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if host != "" {
			req.Host = host
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, tt := range []struct {
		name, origin, host, ctype string
		want                      int
	}{
		{"own page", own, "", "application/json", 200},
		{"own page, charset", own, "", "application/json; charset=utf-8", 200},
		{"no origin (not a browser)", "", "", "application/json", 200},
		{"listed origin", "http://127.0.0.1:1", "", "application/json", 200},
		{"other site, simple text/plain POST", "https://evil.example", "", "text/plain", 403},
		{"other site, JSON", "https://evil.example", "", "application/json", 403},
		{"null origin", "null", "", "application/json", 403},
		{"own page, text/plain", own, "", "text/plain", 415},
		{"own page, form", own, "", "application/x-www-form-urlencoded", 415},
		{"rebound host", "http://evil.example:" + strings.TrimPrefix(own[strings.LastIndex(own, ":"):], ":"), "evil.example:" + own[strings.LastIndex(own, ":")+1:], "application/json", 421},
	} {
		res := send(tt.origin, tt.host, tt.ctype)
		if res.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, res.StatusCode, tt.want)
		}
		acao := res.Header.Get("Access-Control-Allow-Origin")
		if acao == "*" || (acao != "" && acao != "http://127.0.0.1:1") {
			t.Errorf("%s: Access-Control-Allow-Origin %q", tt.name, acao)
		}
	}
	if n := len(s.Conversations(website)); n != 4 {
		t.Errorf("%d conversations, want 4 (one per accepted request)", n)
	}
}
