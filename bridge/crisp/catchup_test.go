package crisp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// nextMillisecond returns once the clock has moved past ms, so the next change gets a later
// timestamp (a wait on the clock itself, bounded by a millisecond).
func nextMillisecond(ms int64) int64 {
	for time.Now().UnixMilli() <= ms {
		time.Sleep(100 * time.Microsecond)
	}
	return time.Now().UnixMilli()
}

func TestListConversationsRequest(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hello"); err != nil {
		t.Fatal(err)
	}
	if err := v.SetData(map[string]any{"enum": "start_chatbot", "plan": 3}); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	until := time.Now().Add(time.Hour)
	s.ResetCalls()
	got, err := c.ListConversations(ctxT(t), testWebsite, 1, crisp.ListOptions{PerPage: 50, OrderUpdated: true,
		UpdatedSince: since, UpdatedUntil: until, IncludeEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 1 || calls[0].Method != "GET" || calls[0].Path != "/v1/website/"+testWebsite+"/conversations/1" {
		t.Fatalf("calls = %+v", calls)
	}
	q, _ := url.ParseQuery(calls[0].Query)
	want := url.Values{"per_page": {"50"}, "order_date_updated": {"1"}, "filter_date_start": {"2026-01-02T03:04:05.006Z"},
		"filter_date_end": {until.UTC().Format("2006-01-02T15:04:05.000Z")}, "include_empty": {"1"}}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("query = %v, want %v", q, want)
	}
	conv, _ := s.Conversation(testWebsite, v.SessionID())
	if len(got) != 1 || got[0].SessionID != v.SessionID() || got[0].WebsiteID != testWebsite || got[0].State != "pending" ||
		got[0].UpdatedAt != conv.UpdatedAt || got[0].CreatedAt != conv.CreatedAt || got[0].Meta.Data["enum"] != "start_chatbot" {
		t.Fatalf("list = %+v, want the conversation with its state, dates and data", got)
	}

	for _, bad := range []crisp.ListOptions{{PerPage: 19}, {PerPage: 51}} {
		if _, err := c.ListConversations(ctxT(t), testWebsite, 1, bad); err == nil || !strings.Contains(err.Error(), "per page") {
			t.Errorf("per page %d: err = %v, want a per page error", bad.PerPage, err)
		}
	}
	if _, err := c.ListConversations(ctxT(t), testWebsite, 0, crisp.ListOptions{}); err == nil {
		t.Error("page 0 accepted")
	}
	if _, err := c.ListConversations(ctxT(t), "", 1, crisp.ListOptions{}); err == nil {
		t.Error("empty website accepted")
	}
	if n := len(s.Calls()); n != 1 {
		t.Fatalf("bad requests reached Crisp: %d calls", n)
	}
}

// TestCatchupEventsAreTheRTMEvents reads a conversation back and compares every message event with
// the one the fake emitted over RTM, decoded by the RTM decoder.
func TestCatchupEventsAreTheRTMEvents(t *testing.T) {
	s, p, c := startFake(t, crisptest.Options{Operators: []crisptest.Operator{{UserID: "op-1", Nickname: "Alex", Online: true}}})
	since := time.Now().UnixMilli()
	seq := s.LastSeq()
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	ctx := ctxT(t)
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := v.Send("Where is my order?")
	mustDo(err)
	_, err = p.Send(ctx, testWebsite, v.SessionID(), bridge.OutMessage{Type: "text", Text: "Let me check."})
	mustDo(err)
	pfp, err := p.Send(ctx, testWebsite, v.SessionID(), bridge.OutMessage{Type: "picker", Picker: &bridge.Picker{
		ID: bridge.PickerAnswer, Text: "Did that help?", Choices: []bridge.Choice{{Value: bridge.ChoiceHuman, Label: "A human"}, {Value: bridge.ChoiceResolve, Label: "Yes"}}}})
	mustDo(err)
	mustDo(v.Click(pfp, bridge.ChoiceHuman))
	_, err = s.OperatorReply(testWebsite, v.SessionID(), "op-1", "Hi, Alex here.")
	mustDo(err)
	_, err = s.OperatorNote(testWebsite, v.SessionID(), "op-1", "/ai off")
	mustDo(err)
	before, _ := s.Conversation(testWebsite, v.SessionID())
	nextMillisecond(before.UpdatedAt) // the data change is the last change, strictly after the messages
	mustDo(v.SetData(map[string]any{"enum": "pause_chatbot", "count": 2, "vip": true}))

	src := &crisp.Catchup{Client: c}
	got, err := src.Missed(ctx, testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}

	// What the RTM decoder makes of the fake's message events.
	var want []bridge.Event
	for _, e := range s.Events(seq) {
		if e.Name != bridge.EventMessageSend && e.Name != bridge.EventMessageReceived {
			continue
		}
		ev, err := crisp.DecodeEvent(e.Name, e.Data, bridge.ViaCatchup, "")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ev)
	}
	var msgs, updates, meta []bridge.Event
	for _, ev := range got {
		if ev.Via != bridge.ViaCatchup || ev.WebsiteID != testWebsite || ev.SessionID != v.SessionID() {
			t.Fatalf("event %+v: want via catchup in the conversation", ev)
		}
		switch ev.Name {
		case bridge.EventMessageSend, bridge.EventMessageReceived:
			msgs = append(msgs, ev)
		case bridge.EventMessageUpdated:
			updates = append(updates, ev)
		default:
			meta = append(meta, ev)
		}
	}
	if len(msgs) != len(want) || len(want) != 5 {
		t.Fatalf("got %d message events, want the %d RTM ones (5)", len(msgs), len(want))
	}
	for i := range want {
		// The picker was clicked after it was posted: the RTM event has it unselected, the REST read
		// has it selected. Everything else is the same.
		if want[i].Message.Picker != nil {
			want[i].Message.Picker = msgs[i].Message.Picker
		}
		if !reflect.DeepEqual(msgs[i], want[i]) {
			t.Errorf("message %d:\n got %+v %+v\nwant %+v %+v", i, msgs[i], *msgs[i].Message, want[i], *want[i].Message)
		}
	}
	if c, ok := msgs[2].Message.Picker.Selected(); !ok || c.Value != bridge.ChoiceHuman || msgs[2].Message.Origin != testURN {
		t.Errorf("picker read back: %+v", msgs[2].Message)
	}
	// The click is replayed as message:updated with the fingerprint and the selected choice.
	if len(updates) != 1 || updates[0].Fingerprint != pfp || bridge.EventID(updates[0]) == "" {
		t.Fatalf("updates = %+v, want the click on %d", updates, pfp)
	}
	if c, _ := updates[0].Message.Picker.Selected(); c.Value != bridge.ChoiceHuman {
		t.Errorf("update choice = %+v", c)
	}
	// Its de-duplication id is the live click's: a click processed live is skipped when replayed.
	for _, e := range s.Events(seq) {
		if e.Name == bridge.EventMessageUpdated {
			ev, err := crisp.DecodeEvent(e.Name, e.Data, bridge.ViaRTM, "")
			if err != nil {
				t.Fatal(err)
			}
			if bridge.EventID(ev) != bridge.EventID(updates[0]) {
				t.Errorf("update id %q, live click id %q", bridge.EventID(updates[0]), bridge.EventID(ev))
			}
		}
	}
	// The data change came after the last message: the state and data come last, at updated_at.
	conv, _ := s.Conversation(testWebsite, v.SessionID())
	if len(meta) != 2 || got[len(got)-2].Name != bridge.EventSessionSetState || got[len(got)-1].Name != bridge.EventSessionSetData {
		t.Fatalf("meta events %+v, want state then data, last", meta)
	}
	if st := got[len(got)-2]; st.State != "unresolved" || st.Timestamp != conv.UpdatedAt {
		t.Errorf("state event %+v, want unresolved at %d", st, conv.UpdatedAt)
	}
	if d := got[len(got)-1].Data; !reflect.DeepEqual(d, map[string]string{"enum": "pause_chatbot", "count": "2", "vip": "true"}) {
		t.Errorf("data event %v", d)
	}
	if n := src.Calls(); n != 2 {
		t.Errorf("REST calls = %d, want 2 (one list page, one messages page)", n)
	}
}

// TestCatchupMetaBeforeMessages: when a message was the conversation's last change, the state and
// data (changed at some unknown time before) come before the messages.
func TestCatchupMetaBeforeMessages(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	since := time.Now().UnixMilli()
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if err := v.SetData(map[string]any{"enum": "pause_chatbot"}); err != nil {
		t.Fatal(err)
	}
	conv, _ := s.Conversation(testWebsite, v.SessionID())
	nextMillisecond(conv.UpdatedAt)
	if _, err := v.Send("Can a human help me?"); err != nil {
		t.Fatal(err)
	}
	got, err := (&crisp.Catchup{Client: c}).Missed(ctxT(t), testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range got {
		names = append(names, ev.Name)
	}
	if want := []string{bridge.EventSessionSetState, bridge.EventSessionSetData, bridge.EventMessageSend}; !slices.Equal(names, want) {
		t.Fatalf("events %v, want %v", names, want)
	}
	if got[0].Timestamp != since || got[2].Timestamp < since {
		t.Errorf("timestamps %d, %d: want the meta at since %d, before the message", got[0].Timestamp, got[2].Timestamp, since)
	}
}

// TestCatchupPaging lists 120 conversations (3 pages of 50) and reads back one with 100 messages
// (pages of 40 with timestamp_before); conversations updated before since are left out, and
// MaxConversations keeps the most recently updated.
func TestCatchupPaging(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	ctx := ctxT(t)
	old := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if _, err := old.Send("before the gap"); err != nil {
		t.Fatal(err)
	}
	oc, _ := s.Conversation(testWebsite, old.SessionID())
	since := nextMillisecond(oc.UpdatedAt)

	long := s.Visitor(testWebsite, "", crisptest.VisitorInfo{}).SessionID()
	if _, err := s.Visitor(testWebsite, long, crisptest.VisitorInfo{}).Send("first"); err != nil {
		t.Fatal(err)
	}
	// 99 more operator messages after since, at distinct timestamps (backdated into the gap).
	for i := range 99 {
		body := fmt.Sprintf(`{"type":"text","from":"operator","origin":"chat","content":"m%d","timestamp":%d}`, i, since+1+int64(i))
		req, err := http.NewRequest("POST", s.RESTURL()+"website/"+testWebsite+"/conversation/"+long+"/message", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(testID, testKey)
		req.Header.Set("X-Crisp-Tier", "plugin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("post message: status %d", resp.StatusCode)
		}
	}
	var short []string
	for i := range 119 {
		v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
		if _, err := v.Send(fmt.Sprintf("q%d", i)); err != nil {
			t.Fatal(err)
		}
		short = append(short, v.SessionID())
	}

	s.ResetCalls()
	src := &crisp.Catchup{Client: c}
	evs, err := src.Missed(ctx, testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}
	perConv := map[string]int{}
	for _, ev := range evs {
		if ev.Name == bridge.EventMessageSend || ev.Name == bridge.EventMessageReceived {
			perConv[ev.SessionID]++
		}
	}
	if perConv[old.SessionID()] != 0 {
		t.Errorf("conversation updated before since was read")
	}
	if perConv[long] != 100 {
		t.Errorf("long conversation: %d messages, want 100", perConv[long])
	}
	for _, sid := range short {
		if perConv[sid] != 1 {
			t.Fatalf("conversation %s: %d messages, want 1", sid, perConv[sid])
		}
	}
	lists := s.CallCount("GET", "/conversations/")
	msgCalls := s.CallCount("GET", "/messages")
	if lists != 3 || msgCalls != 119+4 {
		t.Errorf("calls: %d list, %d messages; want 3 list pages and 119+4 messages pages", lists, msgCalls)
	}
	for _, call := range s.Calls() {
		if strings.Contains(call.Path, "/conversations/") {
			q, _ := url.ParseQuery(call.Query)
			if q.Get("order_date_updated") != "1" || q.Get("per_page") != "50" || q.Get("filter_date_start") != time.UnixMilli(since).UTC().Format("2006-01-02T15:04:05.000Z") {
				t.Fatalf("list query %q", call.Query)
			}
		}
	}
	if int(src.Calls()) != lists+msgCalls {
		t.Errorf("Calls() = %d, want %d", src.Calls(), lists+msgCalls)
	}

	// The bound keeps the most recently updated conversations.
	bounded, err := (&crisp.Catchup{Client: c, MaxConversations: 30}).Missed(ctx, testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, ev := range bounded {
		read[ev.SessionID] = true
	}
	var newest []string
	for _, conv := range s.Conversations(testWebsite)[:30] { // most recently updated first, as listed
		newest = append(newest, conv.SessionID)
	}
	for _, sid := range newest {
		if !read[sid] {
			t.Fatalf("bounded catch-up read %d conversations, not %s, one of the 30 most recently updated", len(read), sid)
		}
	}
	if len(read) != 30 || read[long] {
		t.Errorf("bounded catch-up read %d conversations (the long, older one: %v), want the 30 most recent", len(read), read[long])
	}
}

// TestRTMOnConnectAndOutage: OnConnect runs once per authenticated connection, before its events,
// with reconnect true after the first; a message written during an RTM outage never arrives over
// RTM, and the REST catch-up finds it.
func TestRTMOnConnectAndOutage(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	type note struct {
		connect   bool // an OnConnect call, else an event
		reconnect bool
		text      string
	}
	notes := make(chan note, 64)
	rtm, err := crisp.NewRTM(crisp.RTMConfig{URL: s.RTMURL(), Identifier: testID, Key: testKey,
		ReconnectMin: 5 * time.Millisecond, ReconnectMax: 20 * time.Millisecond,
		OnConnect: func(_ context.Context, reconnect bool) { notes <- note{connect: true, reconnect: reconnect} },
	}, func(_ context.Context, ev bridge.Event) {
		if ev.Name == bridge.EventMessageSend {
			notes <- note{text: ev.Message.Text}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- rtm.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	next := func() note {
		t.Helper()
		select {
		case n := <-notes:
			return n
		case <-time.After(5 * time.Second):
			t.Fatal("nothing from the RTM client within 5 s")
		}
		return note{}
	}
	if n := next(); !n.connect || n.reconnect {
		t.Fatalf("first note %+v, want OnConnect(reconnect=false)", n)
	}
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if _, err := v.Send("before"); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.text != "before" {
		t.Fatalf("got %+v, want the message sent before the outage", n)
	}
	since := nextMillisecond(time.Now().UnixMilli()) // after "before"
	s.SetRTMDown(true)
	for rtm.Connected() || s.RTMRefused() == 0 { // wait until the client is down and refused at least once
		select {
		case <-time.After(time.Millisecond):
		case <-ctxT(t).Done():
			t.Fatal("client never refused")
		}
	}
	if _, err := v.Send("during"); err != nil {
		t.Fatal(err)
	}
	s.SetRTMDown(false)
	if n := next(); !n.connect || !n.reconnect {
		t.Fatalf("after the outage got %+v, want OnConnect(reconnect=true) first", n)
	}
	if _, err := v.Send("after"); err != nil {
		t.Fatal(err)
	}
	if n := next(); n.text != "after" {
		t.Fatalf("got %+v, want the message sent after the outage (the one during it is never delivered)", n)
	}
	evs, err := (&crisp.Catchup{Client: c}).Missed(ctxT(t), testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, ev := range evs {
		if ev.Name == bridge.EventMessageSend {
			texts = append(texts, ev.Message.Text)
		}
	}
	if !slices.Equal(texts, []string{"during", "after"}) {
		t.Fatalf("catch-up found %q, want [during after]", texts)
	}
}

// TestCatchupResumesAfterFailure: a catch-up cut short returns what it read with the error; the
// next one skips the conversations already returned (unchanged since) and reads only the rest.
func TestCatchupResumesAfterFailure(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	ctx := ctxT(t)
	since := time.Now().UnixMilli()
	for i := range 60 {
		if _, err := s.Visitor(testWebsite, "", crisptest.VisitorInfo{}).Send(fmt.Sprintf("q%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	src := &crisp.Catchup{Client: c}
	s.FailNext(crisptest.RESTFault{Status: 503, Count: 3, Method: "GET", Path: "/conversations/2"}) // more than the client's retries
	sessions := func(evs []bridge.Event) map[string]bool {
		out := map[string]bool{}
		for _, ev := range evs {
			if ev.Name == bridge.EventMessageSend {
				out[ev.SessionID] = true
			}
		}
		return out
	}
	first, err := src.Missed(ctx, testWebsite, since)
	if err == nil || len(sessions(first)) != 50 {
		t.Fatalf("first catch-up: %d conversations, err %v; want the first page's 50 and the error", len(sessions(first)), err)
	}
	s.ResetCalls()
	second, err := src.Missed(ctx, testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}
	got := sessions(second)
	for sid := range sessions(first) {
		if got[sid] {
			t.Fatalf("resumed catch-up returned %s again", sid)
		}
	}
	if len(got) != 10 || s.CallCount("GET", "/messages") != 10 || s.CallCount("GET", "/conversations/") != 2 {
		t.Fatalf("resumed: %d conversations, %d messages calls, %d list calls; want 10, 10, 2", len(got),
			s.CallCount("GET", "/messages"), s.CallCount("GET", "/conversations/"))
	}
	// Once a catch-up succeeded, the next one starts over.
	third, err := src.Missed(ctx, testWebsite, since)
	if err != nil || len(sessions(third)) != 60 {
		t.Fatalf("after a success: %d conversations, err %v; want all 60", len(sessions(third)), err)
	}
	// Forget (the caller could not feed what a failed catch-up returned) starts over too.
	s.FailNext(crisptest.RESTFault{Status: 503, Count: 3, Method: "GET", Path: "/conversations/2"})
	if _, err := src.Missed(ctx, testWebsite, since); err == nil {
		t.Fatal("no error")
	}
	src.Forget(testWebsite)
	if again, err := src.Missed(ctx, testWebsite, since); err != nil || len(sessions(again)) != 60 {
		t.Fatalf("after Forget: %d conversations, err %v; want all 60", len(sessions(again)), err)
	}
}

// TestCatchupReadsMetaMissingFromTheList: when a list item lacks the state or meta.data, they are
// read with GET …/state and GET …/meta.
func TestCatchupReadsMetaMissingFromTheList(t *testing.T) {
	s, _, _ := startFake(t, crisptest.Options{})
	strip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if strings.Contains(r.URL.Path, "/conversations/") {
			var env map[string]any
			if err := json.Unmarshal(body, &env); err != nil {
				t.Error(err)
			}
			for _, it := range env["data"].([]any) {
				item := it.(map[string]any)
				delete(item, "state")
				delete(item["meta"].(map[string]any), "data")
			}
			body, _ = json.Marshal(env)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(strip.Close)
	c, err := crisp.NewClient(crisp.ClientConfig{BaseURL: strip.URL + "/v1/", Identifier: testID, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().UnixMilli()
	v := s.Visitor(testWebsite, "", crisptest.VisitorInfo{})
	if err := v.SetData(map[string]any{"enum": "start_chatbot"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Send("hello"); err != nil {
		t.Fatal(err)
	}
	src := &crisp.Catchup{Client: c}
	evs, err := src.Missed(ctxT(t), testWebsite, since)
	if err != nil {
		t.Fatal(err)
	}
	var state, data string
	for _, ev := range evs {
		switch ev.Name {
		case bridge.EventSessionSetState:
			state = ev.State
		case bridge.EventSessionSetData:
			data = ev.Data["enum"]
		}
	}
	if state != "pending" || data != "start_chatbot" {
		t.Fatalf("state %q, data %q: want them read from the state and meta routes", state, data)
	}
	if s.CallCount("GET", "/state") != 1 || s.CallCount("GET", "/meta") != 1 || src.Calls() != 4 {
		t.Fatalf("calls: %d state, %d meta, %d in all; want 1, 1, 4", s.CallCount("GET", "/state"), s.CallCount("GET", "/meta"), src.Calls())
	}
}
