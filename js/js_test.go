package js_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/js"
)

func TestScriptMatchesFile(t *testing.T) {
	want, err := os.ReadFile("signalbridge.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js.Script(), want) {
		t.Fatal("Script() differs from signalbridge.js")
	}
	if e := js.ETag(); !strings.HasPrefix(e, `"`) || !strings.HasSuffix(e, `"`) || len(e) < 10 {
		t.Fatalf("ETag() = %q, want a quoted strong tag", e)
	}
}

func TestHandler(t *testing.T) {
	want, err := os.ReadFile("signalbridge.js")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(js.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name        string
		method      string
		ifNoneMatch string
		status      int
		body        []byte
	}{
		{"get", http.MethodGet, "", http.StatusOK, want},
		{"head", http.MethodHead, "", http.StatusOK, nil},
		{"matching etag", http.MethodGet, js.ETag(), http.StatusNotModified, nil},
		{"one of several etags", http.MethodGet, `"nope", ` + js.ETag(), http.StatusNotModified, nil},
		{"star", http.MethodGet, "*", http.StatusNotModified, nil},
		{"stale etag", http.MethodGet, `"0123456789"`, http.StatusOK, want},
		{"weak form of the etag", http.MethodGet, "W/" + js.ETag(), http.StatusNotModified, nil},
		{"post", http.MethodPost, "", http.StatusMethodNotAllowed, []byte("method not allowed\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/signalbridge.js", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !bytes.Equal(got, tt.body) {
				t.Fatalf("body %d bytes, want %d bytes identical to signalbridge.js", len(got), len(tt.body))
			}
			if tt.status == http.StatusMethodNotAllowed {
				if a := resp.Header.Get("Allow"); a != "GET, HEAD" {
					t.Fatalf("Allow %q, want %q", a, "GET, HEAD")
				}
				return
			}
			if e := resp.Header.Get("ETag"); e != js.ETag() {
				t.Fatalf("ETag %q, want %q", e, js.ETag())
			}
			if c := resp.Header.Get("Cache-Control"); c != "public, max-age=300" {
				t.Fatalf("Cache-Control %q", c)
			}
			if tt.status == http.StatusOK {
				if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
					t.Fatalf("Content-Type %q", ct)
				}
				if tt.method == http.MethodHead && resp.ContentLength != int64(len(want)) {
					t.Fatalf("HEAD Content-Length %d, want %d", resp.ContentLength, len(want))
				}
			}
		})
	}
}

// BenchmarkHandler measures serving the snippet, in full and revalidated (304).
func BenchmarkHandler(b *testing.B) {
	h := js.Handler()
	for _, bc := range []struct{ name, inm string }{{"full", ""}, {"not-modified", js.ETag()}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/signalbridge.js", nil)
			if bc.inm != "" {
				req.Header.Set("If-None-Match", bc.inm)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			}
		})
	}
}
