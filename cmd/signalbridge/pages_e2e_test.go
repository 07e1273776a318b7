package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/assistant/webpages"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/js/jstest"
)

// helpPages is a website's public help centre on a loopback TLS server (https, as the settings
// require), with its chrome around each article.
type helpPages struct {
	srv   *httptest.Server
	reads atomic.Int64
	notMo atomic.Int64 // 304s
}

func startHelpPages(t *testing.T) *helpPages {
	t.Helper()
	hp := &helpPages{}
	pages := map[string]string{
		"/treks": `<h1>Llama treks</h1><p>Our guided llama treks leave from the farm gate at nine in the morning.</p>
<h2 id="duration">Duration</h2><p>Every llama trek lasts three hours, with a picnic stop by the lake.</p>`,
		"/wool": `<h1>Llama wool</h1><h2>Washing</h2><ul><li>Hand wash in cold water<ul><li>never tumble dry</li></ul></li></ul>`,
	}
	hp.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		hp.reads.Add(1)
		etag := fmt.Sprintf(`"%s-1"`, strings.TrimPrefix(r.URL.Path, "/"))
		if r.Header.Get("If-None-Match") == etag {
			hp.notMo.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Help | Llama farm</title><script>var t="tracking llama treks"</script></head>
<body><nav><a href="/treks">Llama treks</a><a href="/wool">Wool</a></nav><main><article>%s</article></main>
<footer>Llama farm, all rights reserved</footer></body></html>`, body)
	}))
	t.Cleanup(hp.srv.Close)
	return hp
}

// pageFetchOptions admit the test's loopback server (only loopback; everything else as in
// production) and trust its certificate.
func (hp *helpPages) pageFetchOptions() []webpages.Option {
	return []webpages.Option{
		webpages.WithAddressCheck(func(a netip.Addr) error {
			if a.IsLoopback() {
				return nil
			}
			return webpages.PublicAddress(a)
		}),
		webpages.WithTLSFrom(hp.srv.Client().Transport.(*http.Transport)),
	}
}

// ownerJSON calls the settings JSON API with the admin token.
func ownerJSON(t *testing.T, h *harness, method string, body any) (int, web.OwnerSettings, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.app.web.URL()+"/v1/websites/"+testSite+"/settings", rd)
	req.Header.Set("Authorization", "Bearer "+h.cfg.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var st web.OwnerSettings
	_ = json.Unmarshal(raw, &st)
	return resp.StatusCode, st, string(raw)
}

// TestOwnerPagesKnowledge: the owner lists two public help pages (through the JSON settings API);
// they are read at once, before the save answers, and a visitor's question is answered from the
// page with the page's link; the page's navigation and scripts are not indexed. Read again, an
// unchanged page costs a 304. A page that cannot be read is named on the settings page and in the
// JSON ("could not read …"), the other still answers and the service keeps running; an http URL is
// refused.
func TestOwnerPagesKnowledge(t *testing.T) {
	hp := startHelpPages(t)
	h := newHarness(t, harnessOptions{startMode: "auto", pageFetch: hp.pageFetchOptions()})
	treks, wool := hp.srv.URL+"/treks", hp.srv.URL+"/wool"

	code, st, raw := ownerJSON(t, h, http.MethodPut, map[string]any{"knowledge": "urls", "knowledge_urls": []string{treks, wool}})
	if code != http.StatusOK {
		t.Fatalf("PUT settings = %d %s", code, raw)
	}
	if len(st.Pages) != 2 || st.Pages[0].Title != "Llama treks" || st.Pages[1].Title != "Llama wool" || st.Pages[0].Error != "" {
		t.Fatalf("pages after the save = %+v, want both read", st.Pages)
	}
	v := h.visitor(crisptest.VisitorInfo{})
	if _, err := v.Send("How long does a llama trek last?"); err != nil {
		t.Fatal(err)
	}
	answer := contentText(h.waitAnswers(v.SessionID(), 1)[0])
	if !strings.Contains(answer, "three hours") || !strings.Contains(answer, treks+"#duration") {
		t.Fatalf("answer = %q, want the trek page's duration with its link %s#duration", answer, treks)
	}
	p := h.app.owners.state.Load().pages[testSite]
	if hits := p.kb.Search("tracking rights reserved", 3); len(hits) != 0 {
		t.Errorf("the page's script or footer was indexed: %+v", hits)
	}

	// Read again (the hourly sync): both pages answer 304 and nothing is indexed again.
	before := hp.notMo.Load()
	if changed, err := p.src.Sync(h.ctx()); changed || err != nil {
		t.Errorf("second read: changed %v, err %v; want unchanged", changed, err)
	}
	if n := hp.notMo.Load() - before; n != 2 {
		t.Errorf("conditional reads answered 304: %d, want 2", n)
	}

	// A page that is gone: named on the settings page; the other page still answers.
	missing := hp.srv.URL + "/gone"
	form := url.Values{"website_id": {testSite}, "assistant": {"on"}, "knowledge": {"urls"}, "knowledge_urls": {treks + "\r\n" + missing + "\r\n"}}
	req, _ := http.NewRequest(http.MethodPost, h.app.web.URL()+"/owners/settings", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+h.cfg.AdminToken)
	resp, err := http.DefaultClient.Do(req) // follows the 303 with the same header
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "could not read "+missing+": the server answered 404 Not Found") ||
		!strings.Contains(string(page), `id="saved"`) {
		t.Fatalf("settings page after saving a missing page: %d\n%s", resp.StatusCode, page)
	}
	if _, st, _ := ownerJSON(t, h, http.MethodGet, nil); len(st.Pages) != 2 || st.Pages[1].Error == "" || st.Saved.KnowledgeURLs[1] != missing {
		t.Errorf("JSON pages = %+v", st.Pages)
	}
	w := h.visitor(crisptest.VisitorInfo{})
	if _, err := w.Send("When do the llama treks leave?"); err != nil {
		t.Fatal(err)
	}
	if a := contentText(h.waitAnswers(w.SessionID(), 1)[0]); !strings.Contains(a, "nine in the morning") || !strings.Contains(a, treks) {
		t.Errorf("answer with one page missing = %q", a)
	}

	// Back to the file's source: the pages are no longer read.
	if code, _, raw := ownerJSON(t, h, http.MethodPut, map[string]any{}); code != http.StatusOK {
		t.Fatalf("PUT empty settings = %d %s", code, raw)
	}
	if _, kept := h.app.owners.state.Load().pages[testSite]; kept {
		t.Error("the pages are still kept after choosing the file's source")
	}
	code, _, raw = ownerJSON(t, h, http.MethodPut, map[string]any{"knowledge": "urls", "knowledge_urls": []string{"http://help.example.com/x"}})
	if code != http.StatusBadRequest || !strings.Contains(raw, "must start with https://") {
		t.Errorf("PUT with an http URL = %d %s, want 400", code, raw)
	}
}

// The production fetcher (no test option) refuses the loopback server: the owner sees why.
func TestOwnerPagesRefusesLoopback(t *testing.T) {
	hp := startHelpPages(t)
	h := newHarness(t, harnessOptions{startMode: "auto"})
	code, st, raw := ownerJSON(t, h, http.MethodPut, map[string]any{"knowledge": "urls", "knowledge_urls": []string{hp.srv.URL + "/treks"}})
	if code != http.StatusOK || len(st.Pages) != 1 || !strings.Contains(st.Pages[0].Error, "127.0.0.1 is not a public address") {
		t.Fatalf("PUT = %d %s, want the page refused as not public", code, raw)
	}
	if n := hp.reads.Load(); n != 0 {
		t.Errorf("the loopback server was read %d times", n)
	}
}

func TestConfigPagesKnowledgeBase(t *testing.T) {
	env := envFunc(map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key"})
	path := writeConfig(t, "websites:\n  default:\n    knowledge_base: urls\n    knowledge_urls:\n      - https://help.example.com/a\n      - https://help.example.com/b\n")
	cfg, err := LoadConfig(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate = %v, want urls accepted", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"knowledge_base: urls\n", "websites.default.knowledge_urls: list the public help pages"},
		{"knowledge_base: urls\n    knowledge_urls: [\"http://help.example.com/a\"]\n", "websites.default.knowledge_urls[0]: \"http://help.example.com/a\" must start with https://"},
		{"knowledge_urls: [\"https://help.example.com/a\"]\n", "knowledge_urls: is read only with knowledge_base: urls"},
	} {
		cfg, err := LoadConfig(writeConfig(t, "websites:\n  default:\n    "+tc.yaml), env)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: Validate = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// check reads the listed pages with the production fetcher: a loopback URL is named as refused.
func TestCheckCommandPages(t *testing.T) {
	fake, err := crisptest.Start(crisptest.Options{Identifier: "ident", Key: "key", Websites: []string{testSite}})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	env := envFunc(map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL()})
	path := writeConfig(t, "websites:\n  "+testSite+":\n    knowledge_base: urls\n    knowledge_urls: [\"https://127.0.0.1:1/help\"]\n")
	var out, errb strings.Builder
	if code := Main(t.Context(), []string{"check", "--config", path}, &out, &errb, env); code == 0 {
		t.Fatalf("check passed a loopback page:\n%s", out.String())
	}
	want := "FAIL websites." + testSite + ".knowledge_urls: could not read https://127.0.0.1:1/help: address refused: 127.0.0.1 is not a public address"
	if !strings.Contains(out.String(), want) {
		t.Errorf("check output lacks %q:\n%s", want, out.String())
	}
}

// TestOwnerPagesInBrowser: on the settings page (opened as Crisp opens it, with the website's plugin
// token) the owner chooses public help pages, lists a page and one that does not exist, saves, and
// sees the first read with its title and the second named as unreadable; a visitor's question is
// then answered from the page with its link.
func TestOwnerPagesInBrowser(t *testing.T) {
	browser := jstest.NewBrowser(t)
	hp := startHelpPages(t)
	h := newHarness(t, harnessOptions{startMode: "auto", pageFetch: hp.pageFetchOptions()})
	treks, missing := hp.srv.URL+"/treks", hp.srv.URL+"/gone"
	tab, status := ownerTab(t, browser, h.app.web.URL()+ownerURL("/owners/settings", testSite, h.fake.WebsiteToken(testSite)))
	if status != http.StatusOK {
		t.Fatalf("settings page answered %d", status)
	}
	if err := chromedp.Do(tab,
		chromedp.SetValue(chromedp.ID("knowledge"), "urls"),
		chromedp.SetValue(chromedp.ID("knowledge_urls"), treks+"\n\n"+missing+"\n"),
		chromedp.Click(chromedp.ID("save")),
	); err != nil {
		t.Fatalf("edit and save: %v", err)
	}
	pollTab(t, tab, "saved", `!!document.getElementById("saved")`)
	pages := evalOn[string](t, tab, `document.getElementById("pages").innerText`)
	if !strings.Contains(pages, "Llama treks "+treks) || !strings.Contains(pages, "could not read "+missing+": the server answered 404 Not Found") {
		t.Errorf("the page's list of help pages:\n%s", pages)
	}
	if v := evalOn[string](t, tab, `document.getElementById("knowledge_urls").value`); v != treks+"\n"+missing {
		t.Errorf("after save the page shows the URLs %q", v)
	}
	v := h.visitor(crisptest.VisitorInfo{})
	if _, err := v.Send("How long does a llama trek last?"); err != nil {
		t.Fatal(err)
	}
	if a := contentText(h.waitAnswers(v.SessionID(), 1)[0]); !strings.Contains(a, "three hours") || !strings.Contains(a, treks) {
		t.Errorf("answer = %q, want the trek page with its link", a)
	}
}
