package webpages_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/webpages"
)

// loopbackOK admits the test servers' loopback addresses (and only those).
func loopbackOK(a netip.Addr) error {
	if a.IsLoopback() {
		return nil
	}
	return webpages.PublicAddress(a)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPublicAddress(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"10.0.0.1", false}, {"10.255.1.1", false}, {"172.16.0.1", false},
		{"192.168.1.1", false}, {"169.254.169.254", false}, {"169.254.0.1", false}, {"::1", false}, {"::", false},
		{"0.0.0.0", false}, {"fe80::1", false}, {"fd00:ec2::254", false}, {"224.0.0.1", false}, {"ff02::1", false},
		{"100.64.0.1", false}, {"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"64:ff9b::a00:1", false},
		{"255.255.255.255", false}, {"2002:a00:1::1", false},
		{"93.184.215.14", true}, {"1.1.1.1", true}, {"2606:4700:4700::1111", true},
	} {
		err := webpages.PublicAddress(netip.MustParseAddr(tc.addr))
		if (err == nil) != tc.ok {
			t.Errorf("PublicAddress(%s) = %v, want ok %v", tc.addr, err, tc.ok)
		}
		if err != nil && !errors.Is(err, webpages.ErrRefused) {
			t.Errorf("PublicAddress(%s) = %v, want ErrRefused", tc.addr, err)
		}
	}
}

// The default fetcher refuses to dial loopback, private and link-local addresses, whether the URL
// names them or a name resolves to them ("localhost"), and the refusal says why.
func TestFetcherDefaultRefusesInternalAddresses(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "<p>secret</p>")
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	f := webpages.NewFetcher(webpages.WithTimeout(3 * time.Second))
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/", "http://[::1]:" + port + "/",
		"http://10.1.2.3:" + port + "/", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:" + port + "/"} {
		_, err := f.Fetch(ctx(t), u, nil)
		if err == nil || !strings.Contains(err.Error(), "not a public address") {
			t.Errorf("Fetch(%s) = %v, want a refusal", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server was reached %d times", n)
	}
}

// A redirect is followed only to a checked address: a "public" page (on 127.0.0.2, admitted) that
// redirects to loopback (127.0.0.1, refused) is refused at dial time.
func TestFetcherRedirectIsChecked(t *testing.T) {
	var internal atomic.Int64
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internal.Add(1)
		fmt.Fprint(w, "<p>internal</p>")
	}))
	defer inner.Close()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	pub := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/admin", http.StatusFound)
	}))
	pub.Listener.Close()
	pub.Listener = ln
	pub.Start()
	defer pub.Close()
	f := webpages.NewFetcher(webpages.WithAddressCheck(func(a netip.Addr) error {
		if a == netip.MustParseAddr("127.0.0.2") {
			return nil
		}
		return webpages.PublicAddress(a)
	}))
	_, err = f.Fetch(ctx(t), pub.URL+"/help", nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1 is not a public address") {
		t.Errorf("Fetch through a redirect to loopback = %v, want a refusal", err)
	}
	if internal.Load() != 0 {
		t.Error("the internal server was reached through the redirect")
	}
}

func TestFetcherLimits(t *testing.T) {
	var redirects atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<p>"+strings.Repeat("a", 5000)+"</p>")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, fmt.Sprintf("/loop/%d", redirects.Load()), http.StatusFound)
	})
	mux.HandleFunc("/three/", func(w http.ResponseWriter, r *http.Request) {
		n := strings.Count(r.URL.Path, "x")
		if n < 3 {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
			return
		}
		fmt.Fprint(w, "<title>Arrived</title><p>after three redirects</p>")
	})
	mux.HandleFunc("/pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprint(w, "%PDF-1.4")
	})
	mux.HandleFunc("/gone", http.NotFound)
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/file", http.StatusFound)
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		_, _ = w.Write([]byte("<title>Env\xedos</title><p>Env\xedo gratu\xedto</p>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := webpages.NewFetcher(webpages.WithAddressCheck(loopbackOK), webpages.WithMaxBytes(4096),
		webpages.WithTimeout(300*time.Millisecond))
	for _, tc := range []struct{ path, want string }{
		{"/big", "larger than 4 KiB"},
		{"/slow", "timed out"},
		{"/loop/0", "more than 3 redirects"},
		{"/pdf", "not an HTML page (application/pdf)"},
		{"/gone", "404 Not Found"},
		{"/ftp", "redirect to ftp://example.com/file refused"},
	} {
		_, err := f.Fetch(ctx(t), srv.URL+tc.path, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Fetch(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
	if n := redirects.Load(); n != 4 {
		t.Errorf("redirect loop requests = %d, want 4 (the page and 3 redirects)", n)
	}
	p, err := f.Fetch(ctx(t), srv.URL+"/three/", nil)
	if err != nil || p.Article.Title != "Arrived" {
		t.Errorf("three redirects: %v %q", err, p.Article.Title)
	}
	p, err = f.Fetch(ctx(t), srv.URL+"/latin1", nil)
	if err != nil || p.Article.Title != "Envíos" || p.Article.Content != "Envío gratuíto\n" {
		t.Errorf("latin-1 page: %v %q %q", err, p.Article.Title, p.Article.Content)
	}
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/", "https://user:pw@example.com/", "/relative", "gopher://x"} {
		if _, err := f.Fetch(ctx(t), u, nil); err == nil {
			t.Errorf("Fetch(%s) succeeded", u)
		}
	}
}

// A Source indexes its pages, reads them again conditionally (a 304 costs no re-index), keeps the
// article of a page that fails later, and names each page that fails.
func TestSourceSync(t *testing.T) {
	var mu atomic.Value
	mu.Store("<title>Returns</title><h1>Returns</h1><p>Returns are free within 30 days.</p>")
	var conditional, broken atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/returns", func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() == 1 {
			http.Error(w, "oops", http.StatusInternalServerError)
			return
		}
		body := mu.Load().(string)
		etag := fmt.Sprintf(`"%d"`, len(body))
		if r.Header.Get("If-None-Match") == etag {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	})
	mux.HandleFunc("/missing", http.NotFound)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	kb := assistant.NewKnowledgeBase(nil)
	s := webpages.NewSource(webpages.NewFetcher(webpages.WithAddressCheck(loopbackOK)),
		[]string{srv.URL + "/returns", srv.URL + "/missing", srv.URL + "/returns"}, kb)
	changed, err := s.Sync(ctx(t))
	if !changed || err == nil || err.Error() != "could not read "+srv.URL+"/missing: the server answered 404 Not Found" {
		t.Fatalf("first sync: changed %v, err %v", changed, err)
	}
	select {
	case <-s.Synced():
	default:
		t.Error("Synced not closed after the first sync")
	}
	if ps := kb.Search("are returns free?", 1); len(ps) != 1 || ps[0].URL != srv.URL+"/returns" {
		t.Fatalf("search after sync = %+v", ps)
	}
	st := s.Status()
	if len(st) != 2 || st[0].Title != "Returns" || st[0].Error != "" || st[1].Error == "" || st[0].ReadAt.IsZero() {
		t.Errorf("status = %+v", st)
	}

	changed, _ = s.Sync(ctx(t))
	if changed || conditional.Load() != 1 {
		t.Errorf("second sync: changed %v, 304s %d; want unchanged through a conditional request", changed, conditional.Load())
	}
	mu.Store("<h1>Returns</h1><p>Returns cost 5 EUR from now on.</p>")
	if changed, _ = s.Sync(ctx(t)); !changed {
		t.Error("a changed page did not re-index")
	}
	if ps := kb.Search("how much do returns cost?", 1); len(ps) != 1 || !strings.Contains(ps[0].Text, "5 EUR") {
		t.Errorf("search after the change = %+v", ps)
	}
	broken.Store(1)
	_, err = s.Sync(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "could not read "+srv.URL+"/returns: the server answered 500") {
		t.Errorf("sync with the page failing = %v", err)
	}
	if ps := kb.Search("how much do returns cost?", 1); len(ps) != 1 {
		t.Error("a page that fails lost its previous article")
	}
}
