package crisp_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

// metaServer is a minimal Crisp meta route pair that, like the fake, replaces data and segments on
// PATCH: only a read-merge-write keeps other keys.
type metaServer struct {
	mu      sync.Mutex
	meta    map[string]any
	gets    int
	patches []string
}

func (s *metaServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case "GET":
		s.gets++
		b, _ := json.Marshal(s.meta)
		reply(200, "resolved", string(b))(w, r)
	case "PATCH":
		var patch map[string]any
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
			reply(400, "invalid_data", `{"message":"bad json"}`)(w, r)
			return
		}
		b, _ := json.Marshal(patch)
		s.patches = append(s.patches, string(b))
		for k, v := range patch {
			s.meta[k] = v
		}
		reply(200, "updated", `{}`)(w, r)
	}
}

func newPlatform(t *testing.T, cfg crisp.ClientConfig, opts crisp.PlatformOptions, h http.HandlerFunc) (*crisp.Platform, <-chan request) {
	t.Helper()
	c, reqs := setup(t, cfg, h)
	return crisp.NewPlatform(c, opts), reqs
}

func TestPlatformSend(t *testing.T) {
	bot := crisp.ClientConfig{PluginURN: testURN, BotNickname: "Ava", BotAvatar: "https://example.test/ava.png"}
	user := `"user":{"type":"participant","nickname":"Ava","avatar":"https://example.test/ava.png"}`
	tests := []struct {
		name string
		cfg  crisp.ClientConfig
		m    bridge.OutMessage
		body string
	}{
		{"text", bot, bridge.OutMessage{Type: "text", Text: "Hello"},
			`{"type":"text","from":"operator","origin":"` + testURN + `","content":"Hello",` + user + `}`},
		{"text without urn", crisp.ClientConfig{}, bridge.OutMessage{Type: "text", Text: "Hello"},
			`{"type":"text","from":"operator","origin":"chat","content":"Hello"}`},
		{"note with mentions", bot, bridge.OutMessage{Type: "note", Text: "Handover: wants a refund", Mentions: []string{"op-1", "op-2"}},
			`{"type":"note","from":"operator","origin":"` + testURN + `","content":"Handover: wants a refund",` + user + `,"mentions":["op-1","op-2"]}`},
		{"picker", bot, bridge.OutMessage{Type: "picker", Picker: &bridge.Picker{ID: "lang", Text: "Language?",
			Choices: []bridge.Choice{{Value: "en", Label: "English"}, {Value: "fr", Label: "Français"}}}},
			`{"type":"picker","from":"operator","origin":"` + testURN + `","content":{"id":"lang","text":"Language?","choices":[` +
				`{"value":"en","label":"English","selected":false},{"value":"fr","label":"Français","selected":false}]},` + user + `}`},
		{"field", bot, bridge.OutMessage{Type: "field", Field: &bridge.Field{ID: "email", Text: "Your email?", Explain: "name@example.com"}},
			`{"type":"field","from":"operator","origin":"` + testURN + `","content":{"id":"email","text":"Your email?","explain":"name@example.com"},` + user + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, reqs := newPlatform(t, tt.cfg, crisp.PlatformOptions{}, reply(202, "dispatched", `{"fingerprint":171586406859730}`))
			fp, err := p.Send(ctxT(t), testWebsite, testSession, tt.m)
			if err != nil || fp != 171586406859730 {
				t.Fatalf("Send = %d, %v", fp, err)
			}
			r := <-reqs
			if r.Method != "POST" || r.Path != convPrefix+"/message" {
				t.Errorf("request %s %s", r.Method, r.Path)
			}
			if !jsonEqual(t, r.Body, tt.body) {
				t.Errorf("body = %s, want %s", r.Body, tt.body)
			}
		})
	}
}

func TestPlatformSendRejects(t *testing.T) {
	p, reqs := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{}, reply(202, "dispatched", `{"fingerprint":1}`))
	for _, m := range []bridge.OutMessage{
		{Type: "text"},
		{Type: "note"},
		{Type: "picker", Picker: &bridge.Picker{ID: "x"}},
		{Type: "picker"},
		{Type: "field"},
		{Type: "carousel", Text: "x"},
	} {
		if _, err := p.Send(ctxT(t), testWebsite, testSession, m); err == nil {
			t.Errorf("Send(%+v): no error", m)
		}
	}
	if n := len(reqs); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

func TestPlatformUpdateMetaMerges(t *testing.T) {
	s := &metaServer{meta: map[string]any{
		"email": "old@example.com", "segments": []any{"customer", "vip"},
		"data": map[string]any{"plan": "pro", "count": 3, "beta": true, "enum": "start_chatbot"},
	}}
	p, _ := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{}, s.handle)
	err := p.UpdateMeta(ctxT(t), testWebsite, testSession, bridge.MetaUpdate{
		Email:    "new@example.com",
		Data:     map[string]string{"enum": "chatbot_paused:human", "enum_reason": "human"},
		Segments: []string{"bot-handover", "vip"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.gets != 1 || len(s.patches) != 1 {
		t.Fatalf("gets %d patches %d, want 1 and 1", s.gets, len(s.patches))
	}
	want := `{"email":"new@example.com","segments":["customer","vip","bot-handover"],` +
		`"data":{"plan":"pro","count":3,"beta":true,"enum":"chatbot_paused:human","enum_reason":"human"}}`
	if !jsonEqual(t, []byte(s.patches[0]), want) {
		t.Errorf("patch = %s, want %s", s.patches[0], want)
	}

	// The merged result reads back through Meta, with values as strings.
	m, err := p.Meta(ctxT(t), testWebsite, testSession)
	if err != nil {
		t.Fatal(err)
	}
	wantData := map[string]string{"plan": "pro", "count": "3", "beta": "true", "enum": "chatbot_paused:human", "enum_reason": "human"}
	if !reflect.DeepEqual(m.Data, wantData) || m.Email != "new@example.com" ||
		!reflect.DeepEqual(m.Segments, []string{"customer", "vip", "bot-handover"}) {
		t.Errorf("Meta = %+v", m)
	}
}

func TestPlatformUpdateMetaWithoutDataDoesNotRead(t *testing.T) {
	s := &metaServer{meta: map[string]any{}}
	p, _ := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{}, s.handle)
	if err := p.UpdateMeta(ctxT(t), testWebsite, testSession, bridge.MetaUpdate{Nickname: "Vi"}); err != nil {
		t.Fatal(err)
	}
	if err := p.UpdateMeta(ctxT(t), testWebsite, testSession, bridge.MetaUpdate{}); err != nil {
		t.Fatal(err)
	}
	if s.gets != 0 || len(s.patches) != 1 || s.patches[0] != `{"nickname":"Vi"}` {
		t.Errorf("gets %d patches %q, want 0 and one nickname patch", s.gets, s.patches)
	}
}

func TestPlatformUpdateMetaConcurrent(t *testing.T) {
	s := &metaServer{meta: map[string]any{"data": map[string]any{}}}
	p, _ := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{}, s.handle)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if err := p.UpdateMeta(ctxT(t), testWebsite, testSession, bridge.MetaUpdate{Data: map[string]string{k: "1"}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	data, _ := s.meta["data"].(map[string]any)
	if len(data) != len(keys) {
		t.Errorf("data after concurrent merges = %v, want all of %v", data, keys)
	}
}

func TestPlatformMeta(t *testing.T) {
	p, reqs := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{}, reply(200, "resolved",
		`{"email":"v@example.com","nickname":"Vi","segments":["a"],"data":{"enum":"pause_chatbot","n":1.5,"x":null},`+
			`"device":{"geolocation":{"country":"DE","city":"Berlin"},"locales":["de","en"],"timezone":-60}}`))
	m, err := p.Meta(ctxT(t), testWebsite, testSession)
	if err != nil {
		t.Fatal(err)
	}
	want := bridge.Meta{Email: "v@example.com", Nickname: "Vi", Country: "DE", Locales: []string{"de", "en"},
		Data: map[string]string{"enum": "pause_chatbot", "n": "1.5", "x": ""}, Segments: []string{"a"}, Timezone: new(-60)}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Meta = %+v, want %+v", m, want)
	}
	if r := <-reqs; r.Method != "GET" || r.Path != convPrefix+"/meta" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
}

func TestPlatformStateAndCompose(t *testing.T) {
	p, reqs := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{}, reply(200, "updated", `{}`))
	ctx := ctxT(t)
	if err := p.SetState(ctx, testWebsite, testSession, "pending"); err != nil {
		t.Fatal(err)
	}
	if err := p.Compose(ctx, testWebsite, testSession, true); err != nil {
		t.Fatal(err)
	}
	if err := p.Compose(ctx, testWebsite, testSession, false); err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(ctx, testWebsite, testSession, "open"); err == nil {
		t.Error("SetState(open): no error")
	}
	for _, want := range []struct{ path, body string }{
		{"/state", `{"state":"pending"}`},
		{"/compose", `{"type":"start","from":"operator"}`},
		{"/compose", `{"type":"stop","from":"operator"}`},
	} {
		r := <-reqs
		if r.Method != "PATCH" || r.Path != convPrefix+want.path || !jsonEqual(t, r.Body, want.body) {
			t.Errorf("request %s %s %s, want PATCH %s %s", r.Method, r.Path, r.Body, want.path, want.body)
		}
	}
	if n := len(reqs); n != 0 {
		t.Errorf("%d extra requests", n)
	}
}

func TestPlatformAvailability(t *testing.T) {
	var statusGets, opsGets atomic.Int32
	status := "online"
	var mu sync.Mutex
	h := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/availability/status"):
			statusGets.Add(1)
			reply(200, "resolved", `{"status":"`+status+`","since":1}`)(w, r)
		case strings.HasSuffix(r.URL.Path, "/availability/operators"):
			opsGets.Add(1)
			reply(200, "listed", `[{"user_id":"op-2","type":"online"},{"user_id":"op-1","type":"online"},{"user_id":"op-3","type":"away"}]`)(w, r)
		default:
			reply(404, "not_found", `{}`)(w, r)
		}
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	p, _ := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{AvailabilityTTL: 15 * time.Second, Now: clock}, h)
	ctx := ctxT(t)
	check := func(step string, wantOnline bool, wantOps []string, wantStatus, wantOpsGets int32) {
		t.Helper()
		a, err := p.Availability(ctx, testWebsite)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if a.Online != wantOnline || !reflect.DeepEqual(a.Operators, wantOps) {
			t.Errorf("%s: Availability = %+v, want online %v operators %v", step, a, wantOnline, wantOps)
		}
		if s, o := statusGets.Load(), opsGets.Load(); s != wantStatus || o != wantOpsGets {
			t.Errorf("%s: requests status %d operators %d, want %d and %d", step, s, o, wantStatus, wantOpsGets)
		}
	}
	check("first read", true, []string{"op-1", "op-2"}, 1, 1)
	advance(10 * time.Second)
	check("cached", true, []string{"op-1", "op-2"}, 1, 1)

	f := false
	p.ObserveAvailability(bridge.Event{Name: bridge.EventUsersAvailable, WebsiteID: testWebsite, Available: &f})
	p.ObserveAvailability(bridge.Event{Name: bridge.EventOperatorAvailability, WebsiteID: testWebsite, OperatorID: "op-2", OperatorType: "away"})
	p.ObserveAvailability(bridge.Event{Name: bridge.EventOperatorAvailability, WebsiteID: testWebsite, OperatorID: "op-9", OperatorType: "online"})
	p.ObserveAvailability(bridge.Event{Name: bridge.EventSessionSetState, WebsiteID: testWebsite, State: "resolved"})
	check("after events", false, []string{"op-1", "op-9"}, 1, 1)

	// The operator list expires with its read; the online flag was refreshed by the event.
	advance(6 * time.Second)
	check("operators expired", false, []string{"op-1", "op-2"}, 1, 2)
	advance(16 * time.Second)
	mu.Lock()
	status = "away"
	mu.Unlock()
	check("both expired", false, []string{"op-1", "op-2"}, 2, 3)

	// An event for a website never read is kept and completed by one read of the missing half.
	tr := true
	p.ObserveAvailability(bridge.Event{Name: bridge.EventUsersAvailable, WebsiteID: "other", Available: &tr})
	a, err := p.Availability(ctx, "other")
	if err != nil || !a.Online || statusGets.Load() != 2 || opsGets.Load() != 4 {
		t.Errorf("other website: %+v, %v, status gets %d, operator gets %d", a, err, statusGets.Load(), opsGets.Load())
	}
}

func TestPlatformAvailabilityError(t *testing.T) {
	p, _ := newPlatform(t, crisp.ClientConfig{MaxRetries: -1}, crisp.PlatformOptions{}, reply(404, "not_subscribed", `{}`))
	if _, err := p.Availability(ctxT(t), testWebsite); err == nil {
		t.Error("no error")
	}
}

// With MergeMeta (Crisp merges data and segments), a write-back is one PATCH of our keys only.
func TestPlatformUpdateMetaMergeIsOneCall(t *testing.T) {
	s := &metaServer{meta: map[string]any{"data": map[string]any{"plan": "pro", "enum": "start_chatbot"}}}
	p, _ := newPlatform(t, crisp.ClientConfig{}, crisp.PlatformOptions{MergeMeta: true}, s.handle)
	err := p.UpdateMeta(ctxT(t), testWebsite, testSession, bridge.MetaUpdate{
		Data:   map[string]string{"enum": "chatbot_paused:human", "enum_reason": "human"},
		Expect: map[string]string{"enum": "start_chatbot"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.gets != 0 || len(s.patches) != 1 {
		t.Fatalf("gets %d patches %d, want 0 and 1", s.gets, len(s.patches))
	}
	if want := `{"data":{"enum":"chatbot_paused:human","enum_reason":"human"}}`; !jsonEqual(t, []byte(s.patches[0]), want) {
		t.Errorf("patch = %s, want %s", s.patches[0], want)
	}
}
