package crisp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// startFake starts the fake Crisp with testWebsite installed and returns it with a Platform (and its
// client) over real HTTP.
func startFake(t *testing.T, opts crisptest.Options) (*crisptest.Server, *crisp.Platform, *crisp.Client) {
	t.Helper()
	opts.Identifier, opts.Key = testID, testKey
	if opts.Websites == nil {
		opts.Websites = []string{testWebsite}
	}
	s, err := crisptest.Start(opts)
	if err != nil {
		t.Fatalf("crisptest.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := crisp.NewClient(crisp.ClientConfig{
		BaseURL: s.RESTURL(), Identifier: testID, Key: testKey, PluginURN: testURN, BotNickname: "Ava",
		Backoff: crisp.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, crisp.NewPlatform(c, crisp.PlatformOptions{}), c
}

func TestFakeSend(t *testing.T) {
	s, p, c := startFake(t, crisptest.Options{})
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if _, err := v.Send("Hello?"); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	fp, err := p.Send(ctx, testWebsite, v.SessionID(), bridge.OutMessage{Type: "text", Text: "Hi, how can I help?"})
	if err != nil {
		t.Fatal(err)
	}
	pfp, err := p.Send(ctx, testWebsite, v.SessionID(), bridge.OutMessage{Type: "picker", Picker: &bridge.Picker{
		ID: "human", Text: "Talk to a human?", Choices: []bridge.Choice{{Value: "yes", Label: "Yes"}}}})
	if err != nil {
		t.Fatal(err)
	}
	conv, ok := s.Conversation(testWebsite, v.SessionID())
	if !ok {
		t.Fatal("no conversation")
	}
	m, ok := conv.Message(fp)
	if !ok || m.From != "operator" || m.Origin != testURN || m.Text() != "Hi, how can I help?" || m.User.Nickname != "Ava" {
		t.Errorf("sent message = %+v (found %v)", m, ok)
	}
	if pm, ok := conv.Message(pfp); !ok || pm.Type != "picker" || pm.Text() != "Talk to a human?" {
		t.Errorf("sent picker = %+v (found %v)", pm, ok)
	}
	// The visitor clicks; the client reads the picker back with the choice selected.
	if err := v.Click(pfp, "yes"); err != nil {
		t.Fatal(err)
	}
	ms, err := c.Messages(ctx, testWebsite, v.SessionID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[2].Fingerprint != pfp || selected(ms[2].Content) != "yes" {
		t.Fatalf("messages = %d, last %+v", len(ms), ms[len(ms)-1])
	}
}

// selected returns the value of the selected choice of a picker content.
func selected(content []byte) string {
	var c crisp.PickerContent
	if err := json.Unmarshal(content, &c); err != nil {
		return ""
	}
	for _, ch := range c.Choices {
		if ch.Selected {
			return ch.Value
		}
	}
	return ""
}

func TestFakeMetaMerge(t *testing.T) {
	s, p, _ := startFake(t, crisptest.Options{}) // the fake replaces data and segments on PATCH
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{Email: "v@example.com", Locales: []string{"fr-FR", "fr"}, Country: "FR"})
	if err := v.SetData(map[string]any{"plan": "pro", "seats": 3, "enum": "start_chatbot"}); err != nil {
		t.Fatal(err)
	}
	if err := v.SetSegments([]string{"customer"}, false); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	err := p.UpdateMeta(ctx, testWebsite, v.SessionID(), bridge.MetaUpdate{
		Data: map[string]string{"enum": "chatbot_paused:human"}, Segments: []string{"bot-handover"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Meta(ctx, testWebsite, v.SessionID())
	if err != nil {
		t.Fatal(err)
	}
	want := bridge.Meta{Email: "v@example.com", Country: "FR", Locales: []string{"fr-FR", "fr"},
		Data:     map[string]string{"plan": "pro", "seats": "3", "enum": "chatbot_paused:human"},
		Segments: []string{"customer", "bot-handover"}}
	m.Nickname = "" // random visitor name
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Meta = %+v\nwant   %+v", m, want)
	}
	conv, _ := s.Conversation(testWebsite, v.SessionID())
	if seats, ok := conv.Data["seats"]; !ok || seats == "3" {
		t.Errorf("seats = %#v (%T), want a number kept as a number", seats, seats)
	}
}

func TestFakeStateComposeRouting(t *testing.T) {
	s, p, c := startFake(t, crisptest.Options{})
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	sid := v.SessionID()
	if err := p.SetState(ctx, testWebsite, sid, "resolved"); err != nil {
		t.Fatal(err)
	}
	if st, err := c.GetState(ctx, testWebsite, sid); err != nil || st != "resolved" {
		t.Errorf("GetState = %q, %v", st, err)
	}
	if err := p.Compose(ctx, testWebsite, sid, true); err != nil {
		t.Fatal(err)
	}
	if conv, _ := s.Conversation(testWebsite, sid); conv.Compose != "start" {
		t.Errorf("compose = %q, want start", conv.Compose)
	}
	if err := p.Compose(ctx, testWebsite, sid, false); err != nil {
		t.Fatal(err)
	}
	if conv, _ := s.Conversation(testWebsite, sid); conv.Compose != "stop" {
		t.Errorf("compose = %q, want stop", conv.Compose)
	}
	op := crisptest.DefaultOperator.UserID
	if err := c.Assign(ctx, testWebsite, sid, op, false); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetRouting(ctx, testWebsite, sid); err != nil || got != op {
		t.Errorf("GetRouting = %q, %v", got, err)
	}
	if err := c.Unassign(ctx, testWebsite, sid); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetRouting(ctx, testWebsite, sid); err != nil || got != "" {
		t.Errorf("GetRouting after unassign = %q, %v", got, err)
	}
}

func TestFakeAvailabilityAndEndpoints(t *testing.T) {
	s, p, c := startFake(t, crisptest.Options{})
	ctx := ctxT(t)
	a, err := p.Availability(ctx, testWebsite)
	if err != nil || a.Online || len(a.Operators) != 0 {
		t.Errorf("Availability with nobody online = %+v, %v", a, err)
	}
	if err := s.SetOperatorOnline(testWebsite, crisptest.DefaultOperator.UserID, true); err != nil {
		t.Fatal(err)
	}
	p2 := crisp.NewPlatform(c, crisp.PlatformOptions{}) // a fresh cache
	a, err = p2.Availability(ctx, testWebsite)
	if err != nil || !a.Online || !reflect.DeepEqual(a.Operators, []string{crisptest.DefaultOperator.UserID}) {
		t.Errorf("Availability with the operator online = %+v, %v", a, err)
	}
	url, err := c.Endpoints(ctx)
	if err != nil || url != s.RTMURL() {
		t.Errorf("Endpoints = %q, %v, want %q", url, err, s.RTMURL())
	}
	ws, err := c.AllInstalledWebsites(ctx, false)
	if err != nil || len(ws) != 1 || ws[0].WebsiteID != testWebsite {
		t.Errorf("AllInstalledWebsites = %+v, %v", ws, err)
	}
}

func TestFakeFaults(t *testing.T) {
	s, p, c := startFake(t, crisptest.Options{})
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	sid := v.SessionID()

	s.FailNext(crisptest.RESTFault{Status: 429, Method: "PATCH", Path: "/state"})
	if err := p.SetState(ctx, testWebsite, sid, "pending"); err != nil {
		t.Errorf("SetState after a 429: %v", err)
	}
	if n := s.CallCount("PATCH", "/state"); n != 2 {
		t.Errorf("PATCH state calls = %d, want 2", n)
	}

	// Crisp commits the message but answers 500: the client must not send it again.
	s.FailNext(crisptest.RESTFault{Status: 500, Method: "POST", Path: "/message", AfterCommit: true})
	if _, err := p.Send(ctx, testWebsite, sid, bridge.OutMessage{Type: "text", Text: "only once"}); !errors.Is(err, crisp.ErrServer) {
		t.Errorf("Send error = %v, want a server error", err)
	}
	conv, _ := s.Conversation(testWebsite, sid)
	n := 0
	for _, m := range conv.Filter("operator", "text") {
		if m.Text() == "only once" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("message stored %d times, want 1", n)
	}

	if _, err := c.GetState(ctx, "00000000-0000-0000-0000-000000000000", sid); !errors.Is(err, crisp.ErrNotSubscribed) {
		t.Errorf("unknown website error = %v, want not subscribed", err)
	}
	bad, err := crisp.NewClient(crisp.ClientConfig{BaseURL: s.RESTURL(), Identifier: testID, Key: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetState(ctx, testWebsite, sid); !errors.Is(err, crisp.ErrUnauthorized) && !errors.Is(err, crisp.ErrNotAllowed) {
		t.Errorf("bad key error = %v, want unauthorized or not allowed", err)
	}
	var ae *crisp.APIError
	if _, err := bad.GetState(ctx, testWebsite, sid); errors.As(err, &ae) && ae.Status != http.StatusUnauthorized && ae.Status != http.StatusForbidden {
		t.Errorf("bad key status = %d", ae.Status)
	}
}
