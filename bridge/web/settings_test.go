package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/web"
)

// owners is a web.Owners (and InsightsSource) over a map, with one plugin token per website.
type owners struct {
	mu     sync.Mutex
	tokens map[string]string
	saved  map[string]bridge.WebsiteSettings
}

func (o *owners) WebsiteToken(_ context.Context, website, token string) bool {
	return o.tokens[website] != "" && o.tokens[website] == token
}

func (o *owners) Settings(_ context.Context, website string) (web.OwnerSettings, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return web.OwnerSettings{WebsiteID: website, Saved: o.saved[website], File: bridge.WebsiteSettings{StartMode: "auto", Prompt: "file prompt of " + website},
		FileKnowledge: "none"}, nil
}

func (o *owners) SaveSettings(ctx context.Context, website string, s bridge.WebsiteSettings) (web.OwnerSettings, error) {
	if err := s.Validate(); err != nil {
		return web.OwnerSettings{}, err
	}
	o.mu.Lock()
	o.saved[website] = s
	o.mu.Unlock()
	return o.Settings(ctx, website)
}

func (o *owners) Insights(_ context.Context, website string, days int) (bridge.InsightsReport, error) {
	rep := bridge.SummarizeInsights(website, []string{"2026-03-01", "2026-03-02"}, map[string]map[string]int64{
		"2026-03-02": {bridge.InsightHandled: 3, bridge.InsightHandoverPfx + "budget": 1, bridge.InsightGapPfx + "<script>x</script>": 2}}, 10)
	return rep, nil
}

func TestOwnerPages(t *testing.T) {
	o := &owners{tokens: map[string]string{"w1": "t1", "w2": "t2"}, saved: map[string]bridge.WebsiteSettings{}}
	s := &web.Server{Bridge: &controller{}, AdminToken: "admin-tok", Owners: o}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, auth string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}

	for _, c := range []struct {
		name, path, auth string
		want             int
	}{
		{"own token", "/owners/settings?website_id=w1&token=t1", "", 200},
		{"own token in the header", "/owners/settings?website_id=w1", "t1", 200},
		{"admin token in the header", "/owners/settings?website_id=w1", "admin-tok", 200},
		{"another website's token", "/owners/settings?website_id=w1&token=t2", "", 403},
		{"admin token in the query", "/owners/settings?website_id=w1&token=admin-tok", "", 403},
		{"no token", "/owners/settings?website_id=w1", "", 403},
		{"no website", "/owners/settings?token=t1", "", 403},
		{"insights, own token", "/owners/insights?website_id=w1&token=t1", "", 200},
		{"insights, another token", "/owners/insights?website_id=w1&token=t2", "", 403},
		{"json, own token", "/v1/websites/w1/settings", "t1", 200},
		{"json, another token", "/v1/websites/w1/settings", "t2", 403},
		{"json insights, bad days", "/v1/websites/w1/insights?days=0", "t1", 400},
	} {
		res, body := do("GET", c.path, c.auth, nil)
		if res.StatusCode != c.want {
			t.Errorf("%s: %s = %d, want %d", c.name, c.path, res.StatusCode, c.want)
		}
		if c.want == 403 && strings.Contains(body, "w1") {
			t.Errorf("%s: the refusal names the website: %s", c.name, body)
		}
		if c.want == 200 && strings.HasPrefix(c.path, "/owners/") {
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self' https://app.crisp.chat") {
				t.Errorf("%s: CSP = %q", c.name, csp)
			}
			if !strings.Contains(body, "file prompt of w1") && !strings.Contains(body, "Handled") {
				t.Errorf("%s: page lacks the website's data", c.name)
			}
		}
	}

	// The form: a wrong value is shown back with the problem; a good one is saved and redirects.
	form := url.Values{"website_id": {"w1"}, "token": {"t1"}, "start_mode": {"sometimes"}, "prompt": {"Be <b>kind</b>."}}
	res, body := do("POST", "/owners/settings", "", form)
	if res.StatusCode != 400 || !strings.Contains(body, "start_mode must be auto or wait_for_signal") || !strings.Contains(body, "Be &lt;b&gt;kind&lt;/b&gt;.") {
		t.Errorf("bad form = %d:\n%s", res.StatusCode, body)
	}
	form.Set("start_mode", "wait_for_signal")
	form.Set("languages", "fr, EN")
	form.Set("daily_tokens", "5000")
	res, _ = do("POST", "/owners/settings", "", form)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "saved=1") || !strings.Contains(loc, "token=t1") {
		t.Errorf("good form = %d, Location %q", res.StatusCode, loc)
	}
	want := bridge.WebsiteSettings{StartMode: "wait_for_signal", Prompt: "Be <b>kind</b>.", Languages: []string{"fr", "en"}, DailyTokens: 5000}
	if got := o.saved["w1"]; got.StartMode != want.StartMode || got.Prompt != want.Prompt || strings.Join(got.Languages, ",") != "fr,en" || got.DailyTokens != 5000 {
		t.Errorf("saved %+v, want %+v", got, want)
	}
	// Support hours: a bad time zone is refused with the form kept; good hours are saved as typed.
	form.Set("hours_time_zone", "Europe/Nowhere")
	form.Set("hours_weekly", "mon-fri 09:00-14:00 15:00-18:00\nsat 22:00-02:00\n")
	form.Set("hours_holidays", "2026-12-25, 2027-01-01")
	res, body = do("POST", "/owners/settings", "", form)
	if res.StatusCode != 400 || !strings.Contains(body, "hours:") || !strings.Contains(body, "sat 22:00-02:00") {
		t.Errorf("bad hours = %d:\n%s", res.StatusCode, body)
	}
	form.Set("hours_time_zone", "Europe/Madrid")
	form.Set("hours_start_when_closed", "on")
	if res, _ := do("POST", "/owners/settings", "", form); res.StatusCode != http.StatusSeeOther {
		t.Errorf("good hours = %d", res.StatusCode)
	}
	if h := o.saved["w1"].Hours; h == nil || h.TimeZone != "Europe/Madrid" || strings.Join(h.Weekly["mon-fri"], " ") != "09:00-14:00 15:00-18:00" ||
		strings.Join(h.Weekly["sat"], " ") != "22:00-02:00" || strings.Join(h.Holidays, ",") != "2026-12-25,2027-01-01" || !h.StartWhenClosed {
		t.Errorf("saved hours %+v", h)
	}
	_, page := do("GET", "/owners/settings?website_id=w1&token=t1", "", nil)
	if !strings.Contains(page, "mon-fri 09:00-14:00 15:00-18:00") || !strings.Contains(page, `value="Europe/Madrid"`) {
		t.Errorf("the page does not show the saved hours")
	}

	// Another website's token cannot post to w1.
	form.Set("token", "t2")
	form.Set("prompt", "hijacked")
	if res, _ := do("POST", "/owners/settings", "", form); res.StatusCode != 403 || o.saved["w1"].Prompt == "hijacked" {
		t.Errorf("post with another website's token = %d, saved prompt %q", res.StatusCode, o.saved["w1"].Prompt)
	}

	// JSON PUT: unknown fields and invalid values are 400.
	for body, want := range map[string]int{`{"start_mode":"auto"}`: 200, `{"start_mod":"auto"}`: 400, `{"language":"English"}`: 400} {
		req, _ := http.NewRequest("PUT", srv.URL+"/v1/websites/w2/settings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t2")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("PUT %s = %d, want %d", body, res.StatusCode, want)
		}
	}

	// Insights: the page escapes questions; the JSON is the report.
	_, page = do("GET", "/owners/insights?website_id=w1&token=t1", "", nil)
	if strings.Contains(page, "<script>x</script>") || !strings.Contains(page, "&lt;script&gt;x&lt;/script&gt;") || !strings.Contains(page, `id="chart-conversations"`) {
		t.Errorf("insights page does not escape the gap or lacks its chart:\n%s", page)
	}
	res, body = do("GET", "/v1/websites/w1/insights?days=2", "admin-tok", nil)
	var rep bridge.InsightsReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil || res.StatusCode != 200 || len(rep.Days) != 2 || rep.Days[1].Handled != 3 {
		t.Errorf("insights JSON = %d %s (%v)", res.StatusCode, body, err)
	}
}
