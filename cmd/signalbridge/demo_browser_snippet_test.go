package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDemoServesSnippet: the bridge serves js/signalbridge.js byte for byte at /signalbridge.js,
// cacheable and revalidated by its ETag, next to the demo page that loads it.
func TestDemoServesSnippet(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "js", "signalbridge.js"))
	if err != nil {
		t.Fatal(err)
	}
	d := startTestDemo(t, "auto")
	base := d.app.web.URL()
	get := func(t *testing.T, method, path string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		return res, body
	}

	res, body := get(t, http.MethodGet, "/signalbridge.js", nil)
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Fatalf("GET /signalbridge.js: status %d, %d bytes (equal %v), want 200 and js/signalbridge.js (%d bytes)",
			res.StatusCode, len(body), bytes.Equal(body, want), len(want))
	}
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag = %q, want a strong entity tag", etag)
	}
	for k, v := range map[string]string{"Content-Type": "text/javascript; charset=utf-8",
		"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	cases := []struct {
		name, method, ifNoneMatch string
		status                    int
		body                      []byte
	}{
		{"same etag", http.MethodGet, etag, http.StatusNotModified, nil},
		{"weak form of the etag", http.MethodGet, "W/" + etag, http.StatusNotModified, nil},
		{"one of a list", http.MethodGet, `"0123", ` + etag, http.StatusNotModified, nil},
		{"any", http.MethodGet, "*", http.StatusNotModified, nil},
		{"other etag", http.MethodGet, `"0123456789abcdef"`, http.StatusOK, want},
		{"head", http.MethodHead, "", http.StatusOK, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.ifNoneMatch != "" {
				h["If-None-Match"] = tc.ifNoneMatch
			}
			res, body := get(t, tc.method, "/signalbridge.js", h)
			if res.StatusCode != tc.status || !bytes.Equal(body, tc.body) {
				t.Fatalf("status %d, %d bytes, want %d and %d bytes", res.StatusCode, len(body), tc.status, len(tc.body))
			}
			if got := res.Header.Get("ETag"); got != etag {
				t.Errorf("ETag = %q, want %q", got, etag)
			}
			if tc.method == http.MethodHead && res.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
				t.Errorf("HEAD Content-Length = %q, want %d", res.Header.Get("Content-Length"), len(want))
			}
		})
	}
	if res, _ := get(t, http.MethodPost, "/signalbridge.js", nil); res.StatusCode == http.StatusOK {
		t.Errorf("POST /signalbridge.js: status 200, want an error")
	}

	// The demo page next to it: the page with its config inline (same-origin bridge and sandbox) and
	// the root redirect.
	pages := []struct {
		path     string
		status   int
		contains string
		location string
	}{
		{"/", http.StatusFound, "", "/demo/"},
		{"/demo", http.StatusMovedPermanently, "", "/demo/"},
		{"/demo/", http.StatusOK, `data-signalbridge="start"`, ""},
		{"/demo/", http.StatusOK, `"websiteID":"` + DemoWebsiteID + `"`, ""}, // the config, inline
		{"/demo/config.js", http.StatusNotFound, "", ""},                     // no script carries the token
		{"/demo/app.js", http.StatusOK, `"/signalbridge.js"`, ""},
	}
	for _, pg := range pages {
		res, body := get(t, http.MethodGet, pg.path, nil)
		if res.StatusCode != pg.status || !strings.Contains(string(body), pg.contains) || res.Header.Get("Location") != pg.location {
			t.Errorf("GET %s: status %d, Location %q, body has %q: %v; want %d, %q", pg.path, res.StatusCode,
				res.Header.Get("Location"), pg.contains, strings.Contains(string(body), pg.contains), pg.status, pg.location)
		}
	}
}
