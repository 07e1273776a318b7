package js_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js"
	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestSnippetGreetAndHours: greet() and its button write greet_chatbot#<nonce>, the script tag's
// data-signalbridge-greet greets after its delay, and hours() reads GET <bridge>/hours/<website>
// for the website of the script tag or of CRISP_WEBSITE_ID.
func TestSnippetGreetAndHours(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /signalbridge.js", js.Handler())
	mux.HandleFunc("GET /stub.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, "testdata/stub.js") })
	mux.HandleFunc("GET /hours/{website}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("website") != "site-1" {
			http.Error(w, `{"error":"no support hours configured for this website"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"open":false,"next":"2026-03-30T09:00:00+02:00","time_zone":"Europe/Madrid"}`)
	})
	page := func(path, body string) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><title>t</title></head><body>%s</body></html>", body)
		})
	}
	page("/greet", `<script src="/stub.js"></script><script src="/signalbridge.js" data-signalbridge-greet="150"></script>
<button id="greet" data-signalbridge="greet">Hello</button>`)
	page("/hours", `<script src="/stub.js"></script><script src="/signalbridge.js" data-signalbridge-website="site-1"></script>`)
	page("/hours-crisp", `<script>window.CRISP_WEBSITE_ID = "site-2";</script><script src="/stub.js"></script><script src="/signalbridge.js"></script>`)
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	browser := jstest.NewBrowser(t)
	open := func(t *testing.T, path string) context.Context {
		t.Helper()
		tab := jstest.NewTab(t, browser, 30*time.Second)
		exceptions := jstest.Exceptions(t, tab)
		t.Cleanup(func() { noExceptions(t, exceptions) })
		if err := chromedp.Do(tab, chromedp.Navigate(site.URL+path)); err != nil {
			t.Fatalf("navigate %s: %v", path, err)
		}
		return tab
	}

	t.Run("greet after the script tag's delay, then from the button", func(t *testing.T) {
		tab := open(t, "/greet")
		got := sets(t, tab, 1)
		if got[0].Key != "enum" || !nonced("greet_chatbot#").MatchString(got[0].Value) {
			t.Fatalf("automatic greet wrote %s=%s, want enum=greet_chatbot#<nonce>", got[0].Key, got[0].Value)
		}
		if got[0].T < 150 {
			t.Errorf("greeted %.0f ms after the page started, before the 150 ms delay", got[0].T)
		}
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("greet"))); err != nil {
			t.Fatal(err)
		}
		got = sets(t, tab, 2)
		if !nonced("greet_chatbot#").MatchString(got[1].Value) || got[1].Value == got[0].Value {
			t.Fatalf("button greet wrote %q after %q, want a new greet_chatbot#<nonce>", got[1].Value, got[0].Value)
		}
	})

	t.Run("hours for the script tag's website", func(t *testing.T) {
		tab := open(t, "/hours")
		got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`SignalBridge.hours()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got["open"] != false || got["next"] != "2026-03-30T09:00:00+02:00" || got["time_zone"] != "Europe/Madrid" {
			t.Fatalf("hours() = %v", got)
		}
	})

	t.Run("hours of a website without hours rejects", func(t *testing.T) {
		tab := open(t, "/hours-crisp")
		got, err := chromedp.Run(tab, chromedp.Evaluate[string](
			`SignalBridge.hours().then(function () { return "resolved"; }, function (e) { return e.message; })`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got != "signalbridge: hours: "+site.URL+"/hours/site-2 answered 404" {
			t.Fatalf("hours() for CRISP_WEBSITE_ID site-2 = %q, want a rejection naming the 404", got)
		}
	})
}
