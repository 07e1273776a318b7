package crisptest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

const secret = "914a657d8cc2efbc20593f1806f9bde2"

// delivery is one hook request as the receiver saw it.
type delivery struct {
	header http.Header
	query  string
	body   []byte
}

func (d delivery) attempt(tb testing.TB) int {
	tb.Helper()
	n, err := strconv.Atoi(d.header.Get("X-Delivery-Attempt-Count"))
	if err != nil {
		tb.Fatalf("X-Delivery-Attempt-Count %q: %v", d.header.Get("X-Delivery-Attempt-Count"), err)
	}
	return n
}

func (d delivery) envelope(tb testing.TB) hookEnvelope {
	tb.Helper()
	return decode[hookEnvelope](tb, d.body)
}

type hookEnvelope struct {
	WebsiteID string          `json:"website_id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp int64           `json:"timestamp"`
}

// receiver is a real HTTP hook target; status decides the answer to each request (nil = 200).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	status func(n int, d delivery) int // n counts requests from 1
	ch     chan delivery
}

func newReceiver(tb testing.TB, status func(n int, d delivery) int) *receiver {
	tb.Helper()
	r := &receiver{status: status, ch: make(chan delivery, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{header: req.Header.Clone(), query: req.URL.RawQuery, body: body}
		r.mu.Lock()
		r.got = append(r.got, d)
		n := len(r.got)
		r.mu.Unlock()
		code := http.StatusOK
		if r.status != nil {
			code = r.status(n, d)
		}
		w.WriteHeader(code)
		r.ch <- d
	}))
	tb.Cleanup(r.Close)
	return r
}

// next returns the next delivery, failing the test at the deadline.
func (r *receiver) next(tb testing.TB) delivery {
	tb.Helper()
	select {
	case d := <-r.ch:
		return d
	case <-time.After(10 * time.Second):
		tb.Fatal("no hook delivery within 10s")
		return delivery{}
	}
}

func verify(tb testing.TB, d delivery) {
	tb.Helper()
	ts := d.header.Get("X-Crisp-Request-Timestamp")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("[" + ts + ";" + string(d.body) + "]"))
	want := hex.EncodeToString(m.Sum(nil))
	if got := d.header.Get("X-Crisp-Signature"); got != want {
		tb.Fatalf("got signature %q, want %q over %s", got, want, d.body)
	}
}

func TestHooksSignedAndShaped(t *testing.T) {
	rcv := newReceiver(t, nil)
	s := MustStart(t, crisptest.Options{HookURL: rcv.URL, HookSecret: secret})
	v := s.Visitor(website, "", crisptest.VisitorInfo{Nickname: "visitor493603"})
	fp, err := v.Send(`Hey :) <script>&`)
	if err != nil {
		t.Fatal(err)
	}
	d := rcv.next(t)
	verify(t, d)
	if n := d.attempt(t); n != 1 {
		t.Fatalf("got attempt %d, want 1", n)
	}
	for h, want := range map[string]string{
		"X-Delivery-Attempt-Limit": "3",
		"X-Crisp-Hook-Origin":      "plugin/rtm 38b411d9377a6a00 production",
		"Content-Type":             "application/json",
	} {
		if got := d.header.Get(h); got != want {
			t.Fatalf("got %s %q, want %q", h, got, want)
		}
	}
	// The body is compact JS-style JSON: re-encoding without HTML escaping gives the same bytes.
	var anyBody any
	if err := json.Unmarshal(d.body, &anyBody); err != nil {
		t.Fatal(err)
	}
	if d.body[len(d.body)-1] != '}' {
		t.Fatalf("got body ending %q, want no trailing newline", d.body[len(d.body)-1])
	}
	env := d.envelope(t)
	data := decode[messageData](t, env.Data)
	if env.WebsiteID != website || env.Event != "message:send" || env.Timestamp == 0 || data.SessionID != v.SessionID() ||
		data.Content != `Hey :) <script>&` || data.From != "user" || data.Fingerprint != fp ||
		data.User.UserID != v.SessionID() || data.User.Nickname != "visitor493603" {
		t.Fatalf("got envelope %s", d.body)
	}
	want := `{"website_id":"` + website + `","event":"message:send","data":{"website_id":"` + website + `","session_id":"` + v.SessionID() + `","type":"text","content":"Hey :) <script>&","from":"user","origin":"chat","stamped":true,"timestamp":`
	if string(d.body[:len(want)]) != want {
		t.Fatalf("got body\n%s\nwant prefix\n%s", d.body, want)
	}
}

// messageData is the data of message:send / message:received.
type messageData struct {
	SessionID   string `json:"session_id"`
	Content     string `json:"content"`
	From        string `json:"from"`
	Fingerprint int64  `json:"fingerprint"`
	User        struct {
		UserID   string `json:"user_id"`
		Nickname string `json:"nickname"`
	} `json:"user"`
}

func TestHookRetries(t *testing.T) {
	// The receiver fails the first two requests: the event arrives with attempt counts 1, 2, 3.
	rcv := newReceiver(t, func(n int, _ delivery) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s := MustStart(t, crisptest.Options{HookURL: rcv.URL, HookSecret: secret, HookRetryDelay: time.Millisecond})
	if err := s.Visitor(website, "", crisptest.VisitorInfo{}).SetData(map[string]any{"enum": "start_chatbot"}); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for want := 1; want <= 3; want++ {
		d := rcv.next(t)
		verify(t, d) // each attempt is signed afresh
		if got := d.attempt(t); got != want {
			t.Fatalf("got attempt %d, want %d", got, want)
		}
		bodies = append(bodies, string(d.body))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("retries changed the body: %q", bodies)
	}
	if err := s.WaitHooksIdle(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.HookStats(); st.Delivered != 1 || st.Attempts != 3 || st.Failed != 0 {
		t.Fatalf("got stats %+v", st)
	}
}

func TestHookGivesUp(t *testing.T) {
	rcv := newReceiver(t, func(int, delivery) int { return http.StatusServiceUnavailable })
	s := MustStart(t, crisptest.Options{HookURL: rcv.URL, HookAttempts: 2, HookRetryDelay: time.Millisecond})
	if err := s.Visitor(website, "", crisptest.VisitorInfo{}).SetEmail("a@b.c"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitHooksIdle(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if st := s.HookStats(); st.Failed != 1 || st.Attempts != 2 {
		t.Fatalf("got stats %+v, want 1 failed after 2 attempts", st)
	}
	if d := rcv.next(t); d.header.Get("X-Crisp-Signature") != "" || d.header.Get("X-Delivery-Attempt-Limit") != "2" {
		t.Fatalf("got headers %v, want no signature without a secret and limit 2", d.header)
	}
}

func TestHookFaults(t *testing.T) {
	tests := []struct {
		name         string
		faults       crisptest.HookFaults
		wantAttempts []int // attempt counts seen by the receiver for one event
	}{
		{"first attempt fails", crisptest.HookFaults{FailFirstAttempt: true}, []int{1, 2}},
		{"first attempt lost", crisptest.HookFaults{DropFirstAttempt: true}, []int{2}},
		{"duplicate", crisptest.HookFaults{Duplicate: true}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, nil)
			s := MustStart(t, crisptest.Options{HookURL: rcv.URL, HookSecret: secret, HookRetryDelay: time.Millisecond})
			s.SetHookFaults(tt.faults)
			if err := s.Visitor(website, "", crisptest.VisitorInfo{}).SetEmail("a@b.c"); err != nil {
				t.Fatal(err)
			}
			if err := s.WaitHooksIdle(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			var got []int
			for range tt.wantAttempts {
				d := rcv.next(t)
				verify(t, d)
				got = append(got, d.attempt(t))
			}
			if len(rcv.ch) != 0 || fmtInts(got) != fmtInts(tt.wantAttempts) {
				t.Fatalf("got attempts %v (+%d more), want %v", got, len(rcv.ch), tt.wantAttempts)
			}
		})
	}
}

func fmtInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// hookSeq returns the "i" value of a session:set_data hook.
func hookSeq(tb testing.TB, d delivery) int {
	tb.Helper()
	return decode[struct {
		Data map[string]int `json:"data"`
	}](tb, d.envelope(tb).Data).Data["i"]
}

func TestHookOrder(t *testing.T) {
	const n = 40
	tests := []struct {
		name    string
		reorder int
	}{
		{"in order per conversation", 0},
		{"reordered within a window", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The receiver holds the first request until all events are queued, so the window
			// has something to reorder.
			release := make(chan struct{})
			var once sync.Once
			rcv := newReceiver(t, func(int, delivery) int {
				once.Do(func() { <-release })
				return http.StatusOK
			})
			s := MustStart(t, crisptest.Options{HookURL: rcv.URL})
			s.SetHookFaults(crisptest.HookFaults{ReorderWindow: tt.reorder})
			v := s.Visitor(website, "", crisptest.VisitorInfo{})
			for i := range n {
				if err := v.SetData(map[string]any{"i": i}); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			var got []int
			for range n {
				got = append(got, hookSeq(t, rcv.next(t)))
			}
			inOrder := true
			seen := map[int]bool{}
			for i, g := range got {
				seen[g] = true
				if g != i {
					inOrder = false
				}
			}
			if len(seen) != n {
				t.Fatalf("got %v, want every event once", got)
			}
			if inOrder != (tt.reorder == 0) {
				t.Fatalf("got order %v with reorder window %d", got, tt.reorder)
			}
		})
	}
}

func TestWebsiteHookKey(t *testing.T) {
	rcv := newReceiver(t, nil)
	s := MustStart(t, crisptest.Options{})
	s.SetHookURL(rcv.URL + "/crisp/hooks")
	s2 := MustStart(t, crisptest.Options{HookURL: rcv.URL + "/crisp/hooks", WebsiteHookKey: "k&y"})
	for _, srv := range []*crisptest.Server{s, s2} {
		if err := srv.Visitor(website, "", crisptest.VisitorInfo{}).SetEmail("a@b.c"); err != nil {
			t.Fatal(err)
		}
		d := rcv.next(t)
		if srv == s2 && d.query != "key=k%26y" {
			t.Fatalf("got query %q, want the website hook key", d.query)
		}
		if srv == s && d.query != "" {
			t.Fatalf("got query %q, want none", d.query)
		}
	}
}
