package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// testClock is an injected clock the test moves forward.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func (c *testClock) String() string       { return c.Now().UTC().String() }
func madrid(tb testing.TB) *time.Location { return mustLoc(tb, "Europe/Madrid") }

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func officeHours(startWhenClosed bool) *HoursConfig {
	return &HoursConfig{TimeZone: "Europe/Madrid", Weekly: map[string]Spans{"mon-fri": {"09:00-18:00"}},
		Holidays: []string{"2026-04-03"}, StartWhenClosed: startWhenClosed}
}

// TestSupportHoursClosedHandoverComesBackAtOpening: on the Saturday before Europe's spring-forward
// change, nobody online, a visitor asks for a human. The handover says the team is back on Monday
// at 9:00 (the website's zone, as the visitor's browser gave none), asks for an email, and the
// conversation comes back to the top of the inbox, with a note, at Monday 09:00 CEST (07:00 UTC,
// not 08:00: the week crossed the change), and not before.
func TestSupportHoursClosedHandoverComesBackAtOpening(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 28, 15, 0, 0, 0, loc))
	h := handoverHarness(t, harnessOptions{now: clock.Now, website: WebsiteConfig{Hours: officeHours(false)}})
	if err := h.fake.SetOperatorOnline(testSite, testOperator, false); err != nil {
		t.Fatal(err)
	}
	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en-GB"}})
	s := v.SessionID()
	mustSend(t, v, "I want to talk to a human")
	h.waitMode(s, signals.ModeHuman)
	var field crisptest.Message
	h.eventually("closed notice, email field, pending", func() bool {
		fields := h.ours(s, "field")
		fc, _ := h.fake.Conversation(testSite, s)
		if len(fields) == 0 || fc.State != "pending" {
			return false
		}
		field = fields[0]
		return slices.ContainsFunc(h.ours(s, "text"), func(m crisptest.Message) bool {
			return strings.Contains(contentText(m), "We're back Monday at 9:00")
		})
	})
	if err := v.Fill(field.Fingerprint, "ines@example.com"); err != nil {
		t.Fatal(err)
	}
	h.eventually("email stored", func() bool { c, _ := h.conv(s); return c.Email == "ines@example.com" })
	// The thanks for the email and its pending state are written before the operator's glance.
	key := bridge.Key{WebsiteID: testSite, SessionID: s}
	h.eventually("only the reminder left to do", func() bool {
		p, _ := h.app.bridge.Pending(context.Background(), key)
		return len(p) == 1 && p[0].Kind == bridge.JournalReopen
	})

	// An operator glances at it over the weekend: no longer pending.
	if err := h.fake.SetState(testSite, s, "unresolved"); err != nil {
		t.Fatal(err)
	}
	h.eventually("unresolved", func() bool { c, _ := h.conv(s); return c.CrispState == "unresolved" })
	reopened := func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.State == "pending" && slices.ContainsFunc(h.ours(s, "note"), func(m crisptest.Message) bool {
			return strings.Contains(contentText(m), "Support hours started")
		})
	}

	// Monday 08:59 CEST: still closed; nothing is due.
	clock.Set(time.Date(2026, 3, 30, 8, 59, 0, 0, loc))
	ctx := context.Background()
	if n, err := h.app.bridge.SweepReopen(ctx); err != nil || n != 0 {
		t.Fatalf("sweep before opening = %d, %v; want 0", n, err)
	}
	// A later event of the conversation is processed after anything the sweep queued.
	mustSend(t, v, "anyone there?")
	h.waitTurn(s, "visitor", "anyone there?")
	if reopened() {
		t.Fatal("brought back before opening")
	}
	if st, err := h.app.bridge.Hours(testSite); err != nil || st.Open || !st.Next.Equal(time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("hours at 08:59 = %+v, %v; want closed, next 07:00 UTC", st, err)
	}

	// Monday 09:00 CEST = 07:00 UTC.
	clock.Set(time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC))
	if n, err := h.app.bridge.SweepReopen(ctx); err != nil || n != 1 {
		t.Fatalf("sweep at opening = %d, %v; want 1", n, err)
	}
	h.eventually("pending again with a note at opening", reopened)
	notes := h.ours(s, "note")
	if text := contentText(notes[len(notes)-1]); !strings.Contains(text, "ines@example.com") {
		t.Errorf("reopen note lacks the email: %q", text)
	}
	h.eventually("reminder performed", func() bool {
		p, _ := h.app.bridge.Pending(ctx, key)
		return len(p) == 0
	})
}

// TestSupportHoursVisitorZoneAndLanguage: a Spanish visitor whose browser is in New York (UTC-4)
// is told the Madrid team is back "el lunes a las 3:00", their time.
func TestSupportHoursVisitorZoneAndLanguage(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 28, 15, 0, 0, 0, loc))
	h := handoverHarness(t, harnessOptions{now: clock.Now, website: WebsiteConfig{Hours: officeHours(false)}})
	if err := h.fake.SetOperatorOnline(testSite, testOperator, false); err != nil {
		t.Fatal(err)
	}
	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"es-ES"}, Timezone: new(240), Email: "luis@example.com"})
	s := v.SessionID()
	mustSend(t, v, "¿Cuánto tarda el envío?")
	h.waitTurn(s, "visitor", "¿Cuánto tarda el envío?")
	if _, err := h.app.bridge.Control(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: s}, bridge.ControlHandover, signals.ReasonHuman, "test"); err != nil {
		t.Fatal(err)
	}
	h.eventually("closed notice in Spanish, visitor's time", func() bool {
		return slices.ContainsFunc(h.ours(s, "text"), func(m crisptest.Message) bool {
			return strings.Contains(contentText(m), "Volvemos el lunes a las 3:00")
		})
	})
	h.eventually("pending", func() bool { fc, _ := h.fake.Conversation(testSite, s); return fc.State == "pending" })
	if f := h.ours(s, "field"); len(f) != 0 {
		t.Errorf("asked for an email already known: %+v", f)
	}
}

// TestSupportHoursStartWhenClosed: a wait_for_signal website set to start the assistant outside
// hours answers a visitor on Saturday by itself, and stays silent on Monday within hours.
func TestSupportHoursStartWhenClosed(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 28, 15, 0, 0, 0, loc))
	h := newHarness(t, harnessOptions{now: clock.Now, startMode: "wait_for_signal", website: WebsiteConfig{Hours: officeHours(true)}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "How long does shipping take?")
	c := h.waitMode(s, signals.ModeActive)
	h.waitAnswers(s, 1)
	_, audit := h.conv(s)
	if first := audit[0]; first.Source != signals.SourceTimer || first.Detail != "outside support hours" {
		t.Errorf("start audit = %+v, want the timer outside support hours", first)
	}
	_ = c

	clock.Set(time.Date(2026, 3, 30, 10, 0, 0, 0, loc))
	v2 := h.visitor(crisptest.VisitorInfo{})
	s2 := v2.SessionID()
	mustSend(t, v2, "How long does shipping take?")
	h.waitTurn(s2, "visitor", "How long does shipping take?")
	if c, _ := h.conv(s2); c.Mode != signals.ModeWaiting {
		t.Fatalf("mode within hours = %s, want waiting", c.Mode)
	}
	if n := len(h.answers(s2)); n != 0 {
		t.Fatalf("answered %d times within hours without a start signal", n)
	}
}

// TestSupportHoursAPI: the public route the snippet reads, the admin route, and the forced-closed
// switch, on the real server; a handover while forced closed says when the team is back.
func TestSupportHoursAPI(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 30, 10, 0, 0, 0, loc)) // Monday, open
	h := handoverHarness(t, harnessOptions{now: clock.Now, website: WebsiteConfig{Hours: officeHours(false)}})
	if err := h.fake.SetOperatorOnline(testSite, testOperator, false); err != nil {
		t.Fatal(err)
	}
	base := h.app.web.URL()
	get := func(path, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return doJSON(t, req)
	}
	code, body := get("/hours/"+testSite, "")
	if code != http.StatusOK || body["open"] != true || body["time_zone"] != "Europe/Madrid" ||
		body["until"] != "2026-03-30T18:00:00+02:00" || body["next"] != "2026-03-31T09:00:00+02:00" {
		t.Fatalf("public hours = %d %v", code, body)
	}
	if code, _ := get("/v1/websites/"+testSite+"/hours", ""); code != http.StatusUnauthorized {
		t.Fatalf("admin hours without a token = %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/websites/"+testSite+"/hours", strings.NewReader(`{"forced_closed": true}`))
	req.Header.Set("Authorization", "Bearer "+h.cfg.AdminToken)
	if code, body := doJSON(t, req); code != http.StatusOK || body["open"] != false || body["forced_closed"] != true {
		t.Fatalf("force closed = %d %v", code, body)
	}
	code, body = get("/v1/websites/"+testSite+"/hours", h.cfg.AdminToken)
	if code != http.StatusOK || body["open"] != false || body["next"] != "2026-03-31T09:00:00+02:00" {
		t.Fatalf("admin hours while forced closed = %d %v", code, body)
	}

	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"fr-FR"}})
	s := v.SessionID()
	mustSend(t, v, "I want to talk to a human")
	h.waitMode(s, signals.ModeHuman)
	h.eventually("closed notice in French", func() bool {
		return slices.ContainsFunc(h.ours(s, "text"), func(m crisptest.Message) bool {
			return strings.Contains(contentText(m), "Nous revenons demain à 9h00")
		}) && len(h.ours(s, "field")) == 1
	})

	req, _ = http.NewRequest(http.MethodPost, base+"/v1/websites/"+testSite+"/hours", strings.NewReader(`{"forced_closed": false}`))
	req.Header.Set("Authorization", "Bearer "+h.cfg.AdminToken)
	if code, body := doJSON(t, req); code != http.StatusOK || body["open"] != true {
		t.Fatalf("back to the schedule = %d %v", code, body)
	}
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestSupportHoursScenarioBranch: guided steps branch on open: false on Saturday and on open: true
// on Monday, through the real product (the steps read the website's hours at each run).
func TestSupportHoursScenarioBranch(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 28, 15, 0, 0, 0, loc))
	scen := filepath.Join(t.TempDir(), "steps.yaml")
	if err := os.WriteFile(scen, []byte(`start: when
languages: [en]
blocks:
  - id: when
    kind: branch
    cases:
      - {when: {open: false}, next: weekend}
    else: weekday
  - {id: weekend, kind: message, text: "Weekend service: the assistant will help.", next: ai}
  - {id: weekday, kind: message, text: "Our team is in today.", next: ai}
  - {id: ai, kind: end}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{now: clock.Now, startMode: "auto",
		website: WebsiteConfig{Scenario: scen, Hours: officeHours(false)}})
	said := func(s, text string) func() bool {
		return func() bool {
			return slices.ContainsFunc(h.ours(s, "text"), func(m crisptest.Message) bool { return contentText(m) == text })
		}
	}
	v := h.visitor(crisptest.VisitorInfo{})
	mustSend(t, v, "Hello")
	h.eventually("weekend branch", said(v.SessionID(), "Weekend service: the assistant will help."))

	clock.Set(time.Date(2026, 3, 30, 9, 30, 0, 0, loc))
	v2 := h.visitor(crisptest.VisitorInfo{})
	mustSend(t, v2, "Hello")
	h.eventually("weekday branch", said(v2.SessionID(), "Our team is in today."))
	if said(v2.SessionID(), "Weekend service: the assistant will help.")() {
		t.Fatal("weekday conversation took the weekend branch")
	}
}

// TestSupportHoursResolvedBeforeOpeningStaysResolved: a conversation handed over while closed and
// resolved before opening is not brought back.
func TestSupportHoursResolvedBeforeOpeningStaysResolved(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 4, 3, 11, 0, 0, 0, loc)) // Good Friday: a holiday
	h := handoverHarness(t, harnessOptions{now: clock.Now, website: WebsiteConfig{Hours: officeHours(false)}})
	if err := h.fake.SetOperatorOnline(testSite, testOperator, false); err != nil {
		t.Fatal(err)
	}
	v := h.visitor(crisptest.VisitorInfo{Email: "kim@example.com"})
	s := v.SessionID()
	mustSend(t, v, "I want to talk to a human")
	h.waitMode(s, signals.ModeHuman)
	h.eventually("closed notice", func() bool {
		return slices.ContainsFunc(h.ours(s, "text"), func(m crisptest.Message) bool {
			return strings.Contains(contentText(m), "We're back Monday at 9:00")
		})
	})
	key := bridge.Key{WebsiteID: testSite, SessionID: s}
	h.eventually("the handover written, the reminder left", func() bool {
		p, _ := h.app.bridge.Pending(context.Background(), key)
		return len(p) == 1 && p[0].Kind == bridge.JournalReopen
	})
	if err := h.fake.Resolve(testSite, s); err != nil {
		t.Fatal(err)
	}
	h.eventually("resolved", func() bool { c, _ := h.conv(s); return c.CrispState == signals.CrispResolved })
	clock.Set(time.Date(2026, 4, 6, 9, 0, 0, 0, loc))
	// The resolution ended the handover's epoch: its reminder was dropped then, so the sweep at
	// opening finds nothing to bring back.
	if n, err := h.app.bridge.SweepReopen(context.Background()); err != nil || n > 1 {
		t.Fatalf("sweep at opening = %d, %v; want 0 (or 1 with nothing done)", n, err)
	}
	h.eventually("reminder dropped", func() bool {
		p, _ := h.app.bridge.Pending(context.Background(), key)
		return len(p) == 0
	})
	if fc, _ := h.fake.Conversation(testSite, s); fc.State != signals.CrispResolved {
		t.Fatalf("state after opening = %s, want resolved", fc.State)
	}
	if slices.ContainsFunc(h.ours(s, "note"), func(m crisptest.Message) bool { return strings.Contains(contentText(m), "Support hours started") }) {
		t.Fatal("a resolved conversation got the opening note")
	}
}

// TestSupportHoursFromTheSettingsPage: hours the website's owner saves on the settings page (none in
// the file) apply live: a handover on a Saturday says when the team is back.
func TestSupportHoursFromTheSettingsPage(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 28, 15, 0, 0, 0, loc))
	h := handoverHarness(t, harnessOptions{now: clock.Now})
	if h.app.owners == nil {
		t.Fatal("the store keeps no settings: the owner's page cannot save hours")
	}
	if err := h.fake.SetOperatorOnline(testSite, testOperator, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.owners.SaveSettings(h.ctx(), testSite, bridge.WebsiteSettings{Hours: &bridge.SettingsHours{
		TimeZone: "Europe/Madrid", Weekly: map[string][]string{"mon-fri": {"09:00-18:00"}}}}); err != nil {
		t.Fatal(err)
	}
	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en-GB"}})
	s := v.SessionID()
	mustSend(t, v, "I want to talk to a human")
	h.waitMode(s, signals.ModeHuman)
	h.eventually("the closed notice from the saved hours", func() bool {
		return slices.ContainsFunc(h.ours(s, "text"), func(m crisptest.Message) bool {
			return strings.Contains(contentText(m), "We're back Monday at 9:00")
		})
	})
}

// TestSupportHoursAnswerOpeningHours: a visitor who asks when the team is open gets the website's
// support hours (not an article that shares "open" or "hour"), with whether it is open now, in
// their language; the answer follows the clock.
func TestSupportHoursAnswerOpeningHours(t *testing.T) {
	loc := madrid(t)
	clock := newTestClock(time.Date(2026, 3, 28, 15, 0, 0, 0, loc)) // a Saturday
	h := handoverHarness(t, harnessOptions{now: clock.Now, website: WebsiteConfig{Hours: officeHours(false)}})
	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en-GB"}})
	s := v.SessionID()
	mustSend(t, v, "what are your opening hours?")
	got := contentText(h.waitAnswers(s, 1)[0])
	for _, want := range []string{"Monday to Friday 9:00–18:00 (Europe/Madrid time)", "we are back Monday at 9:00"} {
		if !strings.Contains(got, want) {
			t.Fatalf("answer to the opening hours = %q, want it to contain %q", got, want)
		}
	}
	clock.Set(time.Date(2026, 3, 30, 10, 0, 0, 0, loc)) // Monday 10:00
	mustSend(t, v, "¿estáis abiertos ahora?")
	got = contentText(h.waitAnswers(s, 2)[1])
	if !strings.Contains(got, "lunes a viernes de 9:00 a 18:00") || !strings.Contains(got, "Ahora estamos abiertos") {
		t.Fatalf("answer in Spanish on Monday morning = %q, want the hours in Spanish and open now", got)
	}
}
