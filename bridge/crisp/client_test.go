package crisp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp"
)

const (
	testWebsite = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"
	testSession = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881"
	testID      = "b1e9a3f0-ident"
	testKey     = "s3cr3t-key-never-logged"
	testURN     = "urn:acme:signalbridge:0"
	convPrefix  = "/v1/website/" + testWebsite + "/conversation/" + testSession
)

// request is what the test server received.
type request struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// setup starts an httptest server answering with handler and a client pointed at it. Every request
// is checked for Crisp's authentication and content headers and recorded on the returned channel.
func setup(t *testing.T, cfg crisp.ClientConfig, handler http.HandlerFunc) (*crisp.Client, <-chan request) {
	t.Helper()
	reqs := make(chan request, 64)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testID+":"+testKey))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		if got := r.Header.Get("Authorization"); got != wantAuth {
			t.Errorf("Authorization = %q, want %q", got, wantAuth)
		}
		wantTier := cfg.Tier
		if wantTier == "" {
			wantTier = "plugin"
		}
		if got := r.Header.Get("X-Crisp-Tier"); got != wantTier {
			t.Errorf("X-Crisp-Tier = %q, want %q", got, wantTier)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q, want application/json", got)
		}
		if r.Header.Get("User-Agent") == "" {
			t.Error("no User-Agent")
		}
		if len(body) > 0 && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type = %q with a body, want application/json", r.Header.Get("Content-Type"))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		reqs <- request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/v1/"
	cfg.Identifier, cfg.Key = testID, testKey
	if cfg.Backoff == (crisp.Backoff{}) {
		cfg.Backoff = crisp.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}
	}
	c, err := crisp.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, reqs
}

// reply answers with a Crisp envelope.
func reply(status int, reason, data string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":%t,"reason":%q,"data":%s}`, status >= 400, reason, data)
	}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("body %q: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRoutes(t *testing.T) {
	botCfg := crisp.ClientConfig{PluginURN: testURN, BotNickname: "Ava", BotAvatar: "https://example.test/ava.png"}
	botUser := `"user":{"type":"participant","nickname":"Ava","avatar":"https://example.test/ava.png"}`
	sent := `{"fingerprint":171586406859730}`
	tests := []struct {
		name      string
		cfg       crisp.ClientConfig
		call      func(context.Context, *crisp.Client) (any, error)
		method    string
		path      string
		query     string
		body      string // JSON; "" for no body
		status    int
		data      string // response data
		want      any
		wantCheck func(t *testing.T, got any)
	}{
		{
			name: "send text", cfg: botCfg,
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "text", Content: "Hello"})
			},
			method: "POST", path: convPrefix + "/message",
			body:   `{"type":"text","from":"operator","origin":"` + testURN + `","content":"Hello",` + botUser + `}`,
			status: 202, data: sent, want: int64(171586406859730),
		},
		{
			name: "send picker",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "picker", Content: crisp.PickerContent{
					ID: "handover", Text: "Talk to a human?",
					Choices: []crisp.PickerChoice{{Value: "yes", Label: "Yes"}, {Value: "no", Label: "No"}},
				}})
			},
			method: "POST", path: convPrefix + "/message",
			body: `{"type":"picker","from":"operator","origin":"chat","content":{"id":"handover","text":"Talk to a human?",` +
				`"choices":[{"value":"yes","label":"Yes","selected":false},{"value":"no","label":"No","selected":false}]}}`,
			status: 202, data: sent, want: int64(171586406859730),
		},
		{
			name: "send field", cfg: botCfg,
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "field",
					Content: crisp.FieldContent{ID: "email", Text: "Your email?", Explain: "you@example.com"}})
			},
			method: "POST", path: convPrefix + "/message",
			body: `{"type":"field","from":"operator","origin":"` + testURN + `","content":{"id":"email","text":"Your email?",` +
				`"explain":"you@example.com"},` + botUser + `}`,
			status: 202, data: sent, want: int64(171586406859730),
		},
		{
			name: "send note with mentions", cfg: botCfg,
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "note", Content: "Visitor wants a human",
					Mentions: []string{"op-1"}, User: &crisp.MessageUser{Nickname: "Handover"}})
			},
			method: "POST", path: convPrefix + "/message",
			body: `{"type":"note","from":"operator","origin":"` + testURN + `","content":"Visitor wants a human",` +
				`"user":{"nickname":"Handover"},"mentions":["op-1"]}`,
			status: 202, data: `{"fingerprint":1.71586406859731e14}`, want: int64(171586406859731),
		},
		{
			name: "update message",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.UpdateMessage(ctx, testWebsite, testSession, 171586406859730, "edited")
			},
			method: "PATCH", path: convPrefix + "/message/171586406859730", body: `{"content":"edited"}`,
			status: 200, data: `{}`,
		},
		{
			name: "remove message",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.RemoveMessage(ctx, testWebsite, testSession, 171586406859730)
			},
			method: "DELETE", path: convPrefix + "/message/171586406859730", status: 200, data: `{}`,
		},
		{
			name: "get messages",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				ms, err := c.Messages(ctx, testWebsite, testSession, 1715864068597)
				if err != nil {
					return nil, err
				}
				var out []string
				for _, m := range ms {
					out = append(out, fmt.Sprintf("%s/%s/%d/%q", m.Type, m.From, m.Fingerprint, m.Text()))
				}
				return out, nil
			},
			method: "GET", path: convPrefix + "/messages", query: "timestamp_before=1715864068597",
			status: 200, data: `[{"type":"text","from":"user","origin":"chat","content":"hi","fingerprint":171586406859730,"timestamp":1715864068597},` +
				`{"type":"picker","from":"operator","content":{"id":"x","choices":[]},"fingerprint":171586406859731}]`,
			want: []string{`text/user/171586406859730/"hi"`, `picker/operator/171586406859731/""`},
		},
		{
			name: "get conversation",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				cv, err := c.GetConversation(ctx, testWebsite, testSession)
				return fmt.Sprintf("%s %s %s %s", cv.SessionID, cv.State, cv.Assigned.UserID, cv.Meta.Email), err
			},
			method: "GET", path: convPrefix, status: 200,
			data: `{"session_id":"` + testSession + `","state":"pending","assigned":{"user_id":"op-1"},"meta":{"email":"v@example.com"}}`,
			want: testSession + " pending op-1 v@example.com",
		},
		{
			name: "get meta",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				m, err := c.GetMeta(ctx, testWebsite, testSession)
				return fmt.Sprintf("%s|%s|%s|%v|%v|%v", m.Email, m.Nickname, m.Device.Geolocation.Country, m.Device.Locales, m.Segments, m.Data), err
			},
			method: "GET", path: convPrefix + "/meta", status: 200,
			data: `{"email":"v@example.com","nickname":"Vi","segments":["customer"],"data":{"enum":"start_chatbot","n":3},` +
				`"device":{"geolocation":{"country":"FR"},"locales":["fr","en"]}}`,
			want: "v@example.com|Vi|FR|[fr en]|[customer]|map[enum:start_chatbot n:3]",
		},
		{
			name: "update meta",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.UpdateMeta(ctx, testWebsite, testSession, crisp.MetaPatch{Email: "v@example.com",
					Data: map[string]any{"enum": "chatbot_paused:human"}, Segments: []string{}})
			},
			method: "PATCH", path: convPrefix + "/meta",
			body:   `{"email":"v@example.com","segments":[],"data":{"enum":"chatbot_paused:human"}}`,
			status: 200, data: `{}`,
		},
		{
			name: "get state",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.GetState(ctx, testWebsite, testSession)
			},
			method: "GET", path: convPrefix + "/state", status: 200, data: `{"state":"unresolved"}`, want: "unresolved",
		},
		{
			name: "set state",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.SetState(ctx, testWebsite, testSession, "pending")
			},
			method: "PATCH", path: convPrefix + "/state", body: `{"state":"pending"}`, status: 200, data: `{}`,
		},
		{
			name: "compose start",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.ComposeStart(ctx, testWebsite, testSession)
			},
			method: "PATCH", path: convPrefix + "/compose", body: `{"type":"start","from":"operator"}`, status: 200, data: `{}`,
		},
		{
			name: "compose stop",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.ComposeStop(ctx, testWebsite, testSession)
			},
			method: "PATCH", path: convPrefix + "/compose", body: `{"type":"stop","from":"operator"}`, status: 200, data: `{}`,
		},
		{
			name: "get routing",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.GetRouting(ctx, testWebsite, testSession)
			},
			method: "GET", path: convPrefix + "/routing", status: 200, data: `{"assigned":{"user_id":"op-7"}}`, want: "op-7",
		},
		{
			name: "get routing unassigned",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.GetRouting(ctx, testWebsite, testSession)
			},
			method: "GET", path: convPrefix + "/routing", status: 200, data: `{"assigned":null}`, want: "",
		},
		{
			name: "assign",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.Assign(ctx, testWebsite, testSession, "op-7", true)
			},
			method: "PATCH", path: convPrefix + "/routing", body: `{"assigned":{"user_id":"op-7"},"silent":true}`, status: 200, data: `{}`,
		},
		{
			name: "unassign",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return nil, c.Unassign(ctx, testWebsite, testSession)
			},
			method: "PATCH", path: convPrefix + "/routing", body: `{"assigned":null}`, status: 200, data: `{}`,
		},
		{
			name: "website availability",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.WebsiteAvailability(ctx, testWebsite)
			},
			method: "GET", path: "/v1/website/" + testWebsite + "/availability/status", status: 200,
			data: `{"status":"online","since":1715864068597}`, want: crisp.AvailabilityStatus{Status: "online", Since: 1715864068597},
		},
		{
			name: "operator availabilities",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				os, err := c.OperatorAvailabilities(ctx, testWebsite)
				var out []string
				for _, o := range os {
					out = append(out, fmt.Sprintf("%s=%s@%d", o.UserID, o.Type, o.Time.Since))
				}
				return out, err
			},
			method: "GET", path: "/v1/website/" + testWebsite + "/availability/operators", status: 200,
			data: `[{"user_id":"op-1","type":"online","time":{"for":0,"since":1}},{"user_id":"op-2","type":"away","time":{"for":60,"since":2}}]`,
			want: []string{"op-1=online@1", "op-2=away@2"},
		},
		{
			name: "last active operators",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				return c.LastActiveOperators(ctx, testWebsite)
			},
			method: "GET", path: "/v1/website/" + testWebsite + "/operators/active", status: 200,
			data: `[{"user_id":"op-1","nickname":"Jo","avatar":"a","timestamp":5}]`,
			want: []crisp.ActiveOperator{{UserID: "op-1", Nickname: "Jo", Avatar: "a", Timestamp: 5}},
		},
		{
			name:   "endpoints plugin tier",
			call:   func(ctx context.Context, c *crisp.Client) (any, error) { return c.Endpoints(ctx) },
			method: "GET", path: "/v1/plugin/connect/endpoints", status: 200,
			data: `{"socket":{"app":"wss://app.relay.crisp.chat/p/68/"},"rescue":{"socket":{"app":"wss://rescue/"}}}`,
			want: "wss://app.relay.crisp.chat/p/68/",
		},
		{
			name: "endpoints website tier", cfg: crisp.ClientConfig{Tier: "website"},
			call:   func(ctx context.Context, c *crisp.Client) (any, error) { return c.Endpoints(ctx) },
			method: "GET", path: "/v1/website/connect/endpoints", status: 200,
			data: `{"socket":{"app":"wss://app.relay.crisp.chat/w/f43/"}}`, want: "wss://app.relay.crisp.chat/w/f43/",
		},
		{
			name:   "connect account",
			call:   func(ctx context.Context, c *crisp.Client) (any, error) { return c.ConnectAccount(ctx) },
			method: "GET", path: "/v1/plugin/connect/account", status: 200, data: `{"plugin_id":"p-1"}`, want: "p-1",
		},
		{
			name: "installed websites",
			call: func(ctx context.Context, c *crisp.Client) (any, error) {
				ws, err := c.InstalledWebsites(ctx, 2, true)
				var out []string
				for _, w := range ws {
					out = append(out, w.WebsiteID+" "+string(w.Settings)+" "+w.Plan.Name)
				}
				return out, err
			},
			method: "GET", path: "/v1/plugin/connect/websites/all/2", query: "filter_configured=1", status: 200,
			data: `[{"website_id":"w-1","token":"t","settings":{"a":1},"plan":{"id":"x","name":"Pro"}}]`,
			want: []string{`w-1 {"a":1} Pro`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := setup(t, tt.cfg, reply(tt.status, "ok", tt.data))
			got, err := tt.call(ctxT(t), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			r := <-reqs
			if r.Method != tt.method || r.Path != tt.path || r.Query != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, tt.method, tt.path, tt.query)
			}
			switch {
			case tt.body == "" && len(r.Body) > 0:
				t.Errorf("body = %s, want none", r.Body)
			case tt.body != "" && !jsonEqual(t, r.Body, tt.body):
				t.Errorf("body = %s, want %s", r.Body, tt.body)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestAllInstalledWebsitesPages(t *testing.T) {
	c, reqs := setup(t, crisp.ClientConfig{}, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/all/1"):
			reply(200, "listed", `[{"website_id":"w-1"},{"website_id":"w-2"}]`)(w, r)
		case strings.HasSuffix(r.URL.Path, "/all/2"):
			reply(200, "listed", `[{"website_id":"w-3"}]`)(w, r)
		default:
			reply(200, "listed", `[]`)(w, r)
		}
	})
	ws, err := c.AllInstalledWebsites(ctxT(t), false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.WebsiteID)
	}
	if want := []string{"w-1", "w-2", "w-3"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("websites = %v, want %v", ids, want)
	}
	if n := len(reqs); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		want       error
		notWant    error
		wantReason string
		wantMsg    string
	}{
		{"invalid data", 400, `{"error":true,"reason":"invalid_data","data":{"message":"data should have required property '.origin'"}}`,
			crisp.ErrInvalidData, crisp.ErrNotFound, "invalid_data", "data should have required property '.origin'"},
		{"not found", 404, `{"error":true,"reason":"not_found","data":{"message":"the route does not exist"}}`,
			crisp.ErrNotFound, crisp.ErrNotSubscribed, "not_found", "the route does not exist"},
		{"not subscribed", 404, `{"error":true,"reason":"not_subscribed","data":{}}`,
			crisp.ErrNotSubscribed, crisp.ErrNotFound, "not_subscribed", ""},
		{"not allowed", 403, `{"error":true,"reason":"not_allowed","data":{}}`, crisp.ErrNotAllowed, crisp.ErrServer, "not_allowed", ""},
		{"unauthorized", 401, `{"error":true,"reason":"unauthorized","data":{}}`, crisp.ErrUnauthorized, crisp.ErrNotAllowed, "unauthorized", ""},
		{"rate limited 429", 429, `{"error":true,"reason":"rate_limited","data":{}}`, crisp.ErrRateLimited, crisp.ErrServer, "rate_limited", ""},
		{"rate limited 420", 420, ``, crisp.ErrRateLimited, crisp.ErrServer, "", ""},
		{"server error", 500, `{"error":true,"reason":"error","data":{}}`, crisp.ErrServer, crisp.ErrRateLimited, "error", ""},
		{"bad gateway html", 502, `<html>bad gateway</html>`, crisp.ErrServer, crisp.ErrInvalidData, "", "<html>bad gateway</html>"},
		{"error envelope on 200", 200, `{"error":true,"reason":"quota_limit_exceeded","data":{}}`, nil, crisp.ErrServer, "quota_limit_exceeded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, crisp.ClientConfig{MaxRetries: -1}, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := c.GetState(ctxT(t), testWebsite, testSession)
			var ae *crisp.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error = %v, want an *APIError", err)
			}
			if ae.Status != tt.status || ae.Reason != tt.wantReason || ae.Message != tt.wantMsg {
				t.Errorf("APIError = %+v, want status %d reason %q message %q", *ae, tt.status, tt.wantReason, tt.wantMsg)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if errors.Is(err, tt.notWant) {
				t.Errorf("errors.Is(%v, %v) = true", err, tt.notWant)
			}
			if !strings.HasPrefix(err.Error(), "get state: crisp api: ") {
				t.Errorf("error text %q does not name the operation", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error text %q leaks the key", err)
			}
		})
	}
}

// flaky answers with the given statuses in turn, then 200.
func flaky(hits *atomic.Int32, statuses ...int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		if n <= len(statuses) {
			reason := "error"
			if statuses[n-1] == 400 {
				reason = "invalid_data"
			}
			reply(statuses[n-1], reason, `{}`)(w, r)
			return
		}
		reply(200, "ok", `{"state":"resolved","fingerprint":42}`)(w, r)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		call     func(context.Context, *crisp.Client) error
		wantHits int32
		wantErr  error
	}{
		{"GET 429 then 200", []int{429}, func(ctx context.Context, c *crisp.Client) error {
			_, err := c.GetState(ctx, testWebsite, testSession)
			return err
		}, 2, nil},
		{"GET 420 503 then 200", []int{420, 503}, func(ctx context.Context, c *crisp.Client) error {
			_, err := c.GetState(ctx, testWebsite, testSession)
			return err
		}, 3, nil},
		{"PATCH 429 then 200", []int{429}, func(ctx context.Context, c *crisp.Client) error {
			return c.SetState(ctx, testWebsite, testSession, "resolved")
		}, 2, nil},
		{"DELETE 500 then 200", []int{500}, func(ctx context.Context, c *crisp.Client) error {
			return c.RemoveMessage(ctx, testWebsite, testSession, 42)
		}, 2, nil},
		{"GET gives up after MaxRetries", []int{500, 500, 500, 500}, func(ctx context.Context, c *crisp.Client) error {
			_, err := c.GetState(ctx, testWebsite, testSession)
			return err
		}, 3, crisp.ErrServer},
		{"GET 400 not retried", []int{400}, func(ctx context.Context, c *crisp.Client) error {
			_, err := c.GetState(ctx, testWebsite, testSession)
			return err
		}, 1, crisp.ErrInvalidData},
		{"POST 500 not repeated", []int{500}, func(ctx context.Context, c *crisp.Client) error {
			_, err := c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "text", Content: "once"})
			return err
		}, 1, crisp.ErrServer},
		{"POST 429 not repeated", []int{429}, func(ctx context.Context, c *crisp.Client) error {
			_, err := c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "text", Content: "once"})
			return err
		}, 1, crisp.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			c, _ := setup(t, crisp.ClientConfig{MaxRetries: 2}, flaky(&hits, tt.statuses...))
			err := tt.call(ctxT(t), c)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("error = %v, want nil", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("requests = %d, want %d", got, tt.wantHits)
			}
		})
	}
}

// TestTransportRetries: a connection cut after the request was sent repeats a GET but never a POST;
// a connection that could not be made at all repeats both.
func TestTransportRetries(t *testing.T) {
	t.Run("cut connection", func(t *testing.T) {
		for _, tt := range []struct {
			method   string
			wantHits int32
		}{{"GET", 3}, {"POST", 1}} {
			var hits atomic.Int32
			c, _ := setup(t, crisp.ClientConfig{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				conn.Close()
			})
			var err error
			if tt.method == "GET" {
				_, err = c.GetState(ctxT(t), testWebsite, testSession)
			} else {
				_, err = c.SendMessage(ctxT(t), testWebsite, testSession, crisp.MessageNew{Type: "text", Content: "x"})
			}
			if err == nil {
				t.Errorf("%s: no error", tt.method)
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("%s: requests = %d, want %d", tt.method, got, tt.wantHits)
			}
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		var attempts atomic.Int32
		c, err := crisp.NewClient(crisp.ClientConfig{
			BaseURL: "http://" + addr + "/v1/", Identifier: testID, Key: testKey, MaxRetries: 2,
			Backoff: crisp.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond},
			Observe: func(method, route string, status int, _ time.Duration) {
				if method != "POST" || route != crisp.RouteMessage || status != 0 {
					t.Errorf("observe(%s, %s, %d)", method, route, status)
				}
				attempts.Add(1)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SendMessage(ctxT(t), testWebsite, testSession, crisp.MessageNew{Type: "text", Content: "x"})
		if err == nil || !strings.HasPrefix(err.Error(), "send message: ") {
			t.Errorf("error = %v, want a send message error", err)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("error %q leaks the key", err)
		}
		if got := attempts.Load(); got != 3 {
			t.Errorf("attempts = %d, want 3", got)
		}
	})
}

func TestRetryStopsOnContext(t *testing.T) {
	var hits atomic.Int32
	c, _ := setup(t, crisp.ClientConfig{MaxRetries: 5, Backoff: crisp.Backoff{Min: time.Hour, Max: time.Hour}}, flaky(&hits, 503, 503))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.GetState(ctx, testWebsite, testSession)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, crisp.ErrServer) {
		t.Errorf("error = %v, want deadline exceeded after a server error", err)
	}
	if got := hits.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestObserve(t *testing.T) {
	type obs struct {
		method, route string
		status        int
	}
	var got []obs
	var hits atomic.Int32
	c, _ := setup(t, crisp.ClientConfig{Observe: func(method, route string, status int, d time.Duration) {
		if d <= 0 {
			t.Errorf("duration %v", d)
		}
		got = append(got, obs{method, route, status}) // calls are sequential here
	}}, flaky(&hits, 429))
	if err := c.SetState(ctxT(t), testWebsite, testSession, "resolved"); err != nil {
		t.Fatal(err)
	}
	want := []obs{{"PATCH", crisp.RouteState, 429}, {"PATCH", crisp.RouteState, 200}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

func TestNewClientValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  crisp.ClientConfig
	}{
		{"no identifier", crisp.ClientConfig{Key: "k"}},
		{"no key", crisp.ClientConfig{Identifier: "i"}},
		{"bad tier", crisp.ClientConfig{Identifier: "i", Key: "k", Tier: "admin"}},
		{"bad url", crisp.ClientConfig{Identifier: "i", Key: "k", BaseURL: "ftp://x/"}},
		{"relative url", crisp.ClientConfig{Identifier: "i", Key: "k", BaseURL: "/v1/"}},
		{"bad urn", crisp.ClientConfig{Identifier: "i", Key: "k", PluginURN: "acme"}},
		{"negative quota", crisp.ClientConfig{Identifier: "i", Key: "k", DailyQuota: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := crisp.NewClient(tt.cfg); err == nil {
				t.Error("no error")
			}
		})
	}
	c, err := crisp.NewClient(crisp.ClientConfig{Identifier: "i", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tier() != "plugin" || c.Origin() != "chat" || c.QuotaLeft() != -1 {
		t.Errorf("defaults: tier %q origin %q quota %d", c.Tier(), c.Origin(), c.QuotaLeft())
	}
}

func TestBadInputMakesNoRequest(t *testing.T) {
	c, reqs := setup(t, crisp.ClientConfig{}, reply(200, "ok", `{}`))
	ctx := ctxT(t)
	errs := []error{
		c.SetState(ctx, testWebsite, testSession, "closed"),
		c.Compose(ctx, testWebsite, testSession, crisp.ComposeNew{Type: "typing"}),
		c.Assign(ctx, testWebsite, testSession, "", false),
		c.UpdateMeta(ctx, "", testSession, crisp.MetaPatch{}),
	}
	_, err := c.SendMessage(ctx, testWebsite, testSession, crisp.MessageNew{Type: "text"})
	errs = append(errs, err)
	_, err = c.InstalledWebsites(ctx, 0, false)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if n := len(reqs); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

func TestPathEscaping(t *testing.T) {
	c, reqs := setup(t, crisp.ClientConfig{}, reply(200, "ok", `{"state":"pending"}`))
	if _, err := c.GetState(ctxT(t), "w/../x", "s?x=1"); err != nil {
		t.Fatal(err)
	}
	if r := <-reqs; r.Path != "/v1/website/w%2F..%2Fx/conversation/s%3Fx=1/state" || r.Query != "" {
		t.Errorf("path = %s?%s", r.Path, r.Query)
	}
}

func TestQuotaLeft(t *testing.T) {
	c, _ := setup(t, crisp.ClientConfig{DailyQuota: 100, QuotaBurst: 10}, reply(200, "ok", `{"state":"pending"}`))
	if got := c.QuotaLeft(); got != 10 {
		t.Errorf("QuotaLeft at start = %d, want 10", got)
	}
	for range 3 {
		if _, err := c.GetState(ctxT(t), testWebsite, testSession); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.QuotaLeft(); got != 7 {
		t.Errorf("QuotaLeft after 3 calls = %d, want 7", got)
	}
}

// TestQuotaDeadline: with the bucket empty and the next token far away, a call whose context ends
// before the token fails at once with ErrRateLimited, sends nothing and gives its token back.
func TestQuotaDeadline(t *testing.T) {
	var hits atomic.Int32
	c, _ := setup(t, crisp.ClientConfig{DailyQuota: 48, QuotaBurst: 1}, flaky(&hits))
	if _, err := c.GetState(ctxT(t), testWebsite, testSession); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // the next token is ~30 min away
	defer cancel()
	start := time.Now()
	_, err := c.GetState(ctx, testWebsite, testSession)
	if !errors.Is(err, crisp.ErrRateLimited) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want rate limited and deadline exceeded", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("failed after %v, want at once", el)
	}
	if got := hits.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
	// Without a deadline the wait ends with the context.
	ctx2, cancel2 := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetState(ctx2, testWebsite, testSession)
		done <- err
	}()
	cancel2()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call did not end with its context")
	}
	if got := hits.Load(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

// TestQuotaWaits measures that calls past the burst wait for the refill (50 tokens/s here).
func TestQuotaWaits(t *testing.T) {
	const perSecond = 50
	c, _ := setup(t, crisp.ClientConfig{DailyQuota: 86400*perSecond + 1, QuotaBurst: 1}, reply(200, "ok", `{"state":"pending"}`))
	const calls = 5
	start := time.Now()
	for range calls {
		if _, err := c.GetState(ctxT(t), testWebsite, testSession); err != nil {
			t.Fatal(err)
		}
	}
	el := time.Since(start)
	min := (calls - 1) * time.Second / perSecond
	if el < min-time.Millisecond {
		t.Errorf("%d calls took %v, want >= %v (1 burst + %d refills)", calls, el, min, calls-1)
	}
	t.Logf("%d calls at %d tokens/s with burst 1 took %v (floor %v)", calls, perSecond, el, min)
}

// BenchmarkSendMessage measures the client's own cost of one send over loopback HTTP (request
// building, auth, quota bucket, envelope decoding), against a server that answers at once.
func BenchmarkSendMessage(b *testing.B) {
	srv := httptest.NewServer(reply(202, "dispatched", `{"fingerprint":171586406859730}`))
	defer srv.Close()
	c, err := crisp.NewClient(crisp.ClientConfig{BaseURL: srv.URL + "/v1/", Identifier: testID, Key: testKey,
		PluginURN: testURN, BotNickname: "Ava", DailyQuota: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	m := crisp.MessageNew{Type: "text", Content: "Hello, how can I help?"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.SendMessage(ctx, testWebsite, testSession, m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClientConfigLogValueRedacts(t *testing.T) {
	var sb strings.Builder
	log := slog.New(slog.NewTextHandler(&sb, nil))
	log.Info("config", "crisp", crisp.ClientConfig{BaseURL: "https://user:pw@crisp.example/v1/", Identifier: testID, Key: testKey})
	if out := sb.String(); strings.Contains(out, testKey) || strings.Contains(out, ":pw@") || !strings.Contains(out, testID) {
		t.Errorf("log = %s", out)
	}
}

func TestDebugLogsHoldNoSecrets(t *testing.T) {
	var sb strings.Builder // written by the calling goroutine only
	log := slog.New(slog.NewTextHandler(&sb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var hits atomic.Int32
	c, _ := setup(t, crisp.ClientConfig{Logger: log}, flaky(&hits, 503, 400))
	if _, err := c.GetState(ctxT(t), testWebsite, testSession); err == nil {
		t.Fatal("no error")
	}
	out := sb.String()
	auth := base64.StdEncoding.EncodeToString([]byte(testID + ":" + testKey))
	if !strings.Contains(out, "crisp request") || strings.Contains(out, testKey) || strings.Contains(out, auth) {
		t.Errorf("debug log = %s", out)
	}
}
