package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
	"github.com/signalbridge/signalbridge/webhook"
)

const bookingSecret = "booking-secret-5f1e9a7c3d"

const bookingSteps = `start: name
languages: [en]
blocks:
  - {id: name, kind: field, text: "What name is the table for?", explain: "Your name", store: data:name, next: day}
  - id: day
    kind: picker
    text: "Which day?"
    store: data:day
    choices: [{value: mon, label: Monday}, {value: tue, label: Tuesday}]
    next: book
  - id: book
    kind: webhook
    webhook: booking
    next: booked
    branches: {full: day}
    failed: sorry
  - {id: booked, kind: message, text: "See you then!", next: ai}
  - {id: sorry, kind: message, text: "Our booking system is not answering; a person will help you.", next: human}
  - {id: ai, kind: assistant}
  - {id: human, kind: handover}
`

// bookingReceiver is the website's own booking system: a real HTTP server on loopback that checks
// every call's signature as docs/webhooks.md tells receivers to.
type bookingReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	calls    []webhook.Request
	failNext int  // answer 503 to this many calls
	refuse   bool // answer 400 to every call
}

func newBookingReceiver(t *testing.T) *bookingReceiver {
	r := &bookingReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err := webhook.Verify([]byte(bookingSecret), req.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var call webhook.Request
		if err := json.Unmarshal(body, &call); err != nil || call.Delivery != req.Header.Get(webhook.HeaderDelivery) {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.calls = append(r.calls, call)
		fail, refuse := r.failNext > 0, r.refuse
		if fail {
			r.failNext--
		}
		r.mu.Unlock()
		switch {
		case refuse:
			http.Error(w, "no bookings for this website", http.StatusBadRequest)
		case fail:
			http.Error(w, "restarting", http.StatusServiceUnavailable)
		case call.Answers["day"] == "mon":
			io.WriteString(w, `{"message": "Monday is fully booked, sorry.", "branch": "full"}`)
		default:
			io.WriteString(w, `{"message": "Booked for Tuesday, `+call.Answers["name"]+`. Reference B-17.", "data": {"booking_id": "B-17"}}`)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *bookingReceiver) Calls() []webhook.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func bookingHarness(t *testing.T, r *bookingReceiver) *harness {
	t.Setenv("TEST_BOOKING_SECRET", bookingSecret)
	scen := filepath.Join(t.TempDir(), "booking.yaml")
	if err := os.WriteFile(scen, []byte(bookingSteps), 0o600); err != nil {
		t.Fatal(err)
	}
	return newHarness(t, harnessOptions{startMode: "auto", website: WebsiteConfig{Scenario: scen,
		Webhooks: &WebhooksConfig{SecretEnv: "TEST_BOOKING_SECRET", Deadline: time.Minute,
			Endpoints: map[string]string{"booking": r.srv.URL + "/signalbridge"}}}})
}

// nthOurs waits for the n-th (from 1) message of type typ we posted and returns it.
func (h *harness) nthOurs(session, typ string, n int) crisptest.Message {
	h.t.Helper()
	var m crisptest.Message
	h.eventually(typ+" message", func() bool {
		ms := h.ours(session, typ)
		if len(ms) >= n {
			m = ms[n-1]
			return true
		}
		return false
	})
	return m
}

func (h *harness) saidText(session, text string) bool {
	return slices.ContainsFunc(h.ours(session, "text"), func(m crisptest.Message) bool { return contentText(m) == text })
}

// TestWebhookBlockBooksThroughTheWebsitesSystem: guided steps collect a name and a day and hand them
// to a booking system on loopback. The first answer (Monday) is full: the reply's branch asks the
// day again with its message. The second call meets a restarting receiver (503) and is retried with
// the same delivery id until it books; the reply's message is shown, its data set in Crisp, and the
// steps go on to the assistant.
func TestWebhookBlockBooksThroughTheWebsitesSystem(t *testing.T) {
	r := newBookingReceiver(t)
	h := bookingHarness(t, r)
	v := h.visitor(crisptest.VisitorInfo{Email: "ana@example.com", Locales: []string{"en"}})
	s := v.SessionID()
	mustSend(t, v, "I'd like to book a table")
	if err := v.Fill(h.nthOurs(s, "field", 1).Fingerprint, "Ana"); err != nil {
		t.Fatal(err)
	}
	if err := v.Click(h.nthOurs(s, "picker", 1).Fingerprint, "mon"); err != nil {
		t.Fatal(err)
	}
	h.eventually("full: the message, then the day asked again", func() bool {
		return h.saidText(s, "Monday is fully booked, sorry.") && len(h.ours(s, "picker")) == 2
	})
	r.mu.Lock()
	r.failNext = 1
	r.mu.Unlock()
	if err := v.Click(h.nthOurs(s, "picker", 2).Fingerprint, "tue"); err != nil {
		t.Fatal(err)
	}
	h.eventually("booked", func() bool {
		return h.saidText(s, "Booked for Tuesday, Ana. Reference B-17.") && h.saidText(s, "See you then!")
	})
	h.eventually("booking id in the session data", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.Data["booking_id"] == "B-17"
	})
	c := h.waitMode(s, signals.ModeActive)
	if c.ScenarioIndex != -1 {
		t.Errorf("steps not done: cursor %d", c.ScenarioIndex)
	}

	calls := r.Calls()
	if len(calls) != 3 {
		t.Fatalf("receiver got %d calls, want 3 (mon, tue refused with 503, tue again): %+v", len(calls), calls)
	}
	first, retried, booked := calls[0], calls[1], calls[2]
	if first.Website != testSite || first.Session != s || first.Block != "book" || first.Endpoint != "booking" ||
		first.Email != "ana@example.com" || first.Language != "en" || first.Event != "guided_steps.webhook" ||
		first.Answers["name"] != "Ana" || first.Answers["day"] != "mon" {
		t.Errorf("first call = %+v", first)
	}
	if retried.Delivery != booked.Delivery || retried.Delivery == first.Delivery {
		t.Errorf("deliveries: first %q, retried %q, booked %q; want the retry to keep its id and the new call a new one",
			first.Delivery, retried.Delivery, booked.Delivery)
	}
	if booked.Answers["day"] != "tue" || booked.Answers["name"] != "Ana" {
		t.Errorf("booking call answers = %v", booked.Answers)
	}
}

// TestWebhookBlockRefusedTakesFailed: a receiver that refuses (400) is not retried; the steps take
// the block's failed successor, here a handover.
func TestWebhookBlockRefusedTakesFailed(t *testing.T) {
	r := newBookingReceiver(t)
	r.refuse = true
	h := bookingHarness(t, r)
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "table for two")
	if err := v.Fill(h.nthOurs(s, "field", 1).Fingerprint, "Bo"); err != nil {
		t.Fatal(err)
	}
	if err := v.Click(h.nthOurs(s, "picker", 1).Fingerprint, "tue"); err != nil {
		t.Fatal(err)
	}
	h.waitMode(s, signals.ModeHuman)
	h.eventually("failure notice", func() bool {
		return h.saidText(s, "Our booking system is not answering; a person will help you.")
	})
	if n := len(r.Calls()); n != 1 {
		t.Fatalf("a refused call was made %d times, want once", n)
	}
	if note := contentText(h.nthOurs(s, "note", 1)); !strings.Contains(note, "AI handover") {
		t.Errorf("handover note = %q", note)
	}
}

// TestWebhookBlockSurvivesARestartAndFailsAtItsDeadline: the booking system is down (503). The call
// stays in the journal across a restart of the product and is retried; once its deadline passes
// (the injected clock moves on) it fails for good and the steps take failed.
func TestWebhookBlockSurvivesARestartAndFailsAtItsDeadline(t *testing.T) {
	r := newBookingReceiver(t)
	r.failNext = 1 << 30 // down
	clock := &runningClock{}
	t.Setenv("TEST_BOOKING_SECRET", bookingSecret)
	scen := filepath.Join(t.TempDir(), "booking.yaml")
	if err := os.WriteFile(scen, []byte(bookingSteps), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{startMode: "auto", now: clock.Now, website: WebsiteConfig{Scenario: scen,
		Webhooks: &WebhooksConfig{SecretEnv: "TEST_BOOKING_SECRET", Deadline: time.Minute,
			Endpoints: map[string]string{"booking": r.srv.URL + "/signalbridge"}}}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "a table please")
	if err := v.Fill(h.nthOurs(s, "field", 1).Fingerprint, "Ana"); err != nil {
		t.Fatal(err)
	}
	if err := v.Click(h.nthOurs(s, "picker", 1).Fingerprint, "tue"); err != nil {
		t.Fatal(err)
	}
	h.eventually("first attempts", func() bool { return len(r.Calls()) >= 1 })

	h.close()
	before := len(r.Calls())
	h.open()
	h.eventually("retried after the restart", func() bool { return len(r.Calls()) > before })
	calls := r.Calls()
	if first, last := calls[0].Delivery, calls[len(calls)-1].Delivery; first != last {
		t.Errorf("the retry after the restart has delivery %q, want the call's %q", last, first)
	}

	clock.Skip(2 * time.Minute) // past the call's deadline: the next failure is final
	h.waitMode(s, signals.ModeHuman)
	h.eventually("failed: the notice", func() bool {
		return h.saidText(s, "Our booking system is not answering; a person will help you.")
	})
}

// runningClock is real time plus a skip the test adds: retries still come due.
type runningClock struct{ skip atomic.Int64 }

func (c *runningClock) Now() time.Time       { return time.Now().Add(time.Duration(c.skip.Load())) }
func (c *runningClock) Skip(d time.Duration) { c.skip.Add(int64(d)) }
