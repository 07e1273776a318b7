package web_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge/web"
)

// TestReadyzDetailsForAdminOnly: /readyz tells anyone whether the service is ready; the reason (a
// store's error text) and the details (the Crisp quota) only to the admin token.
func TestReadyzDetailsForAdminOnly(t *testing.T) {
	ready := errors.New("store: open /var/lib/signalbridge/secret-name.db: permission denied")
	s := &web.Server{Bridge: &controller{}, AdminToken: "admin-tok", Ready: func() error { return ready },
		ReadyDetail: func() map[string]any { return map[string]any{"crisp_quota": map[string]any{"left": 7}} }}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/readyz", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer admin-to"} {
		code, body := get(auth)
		if code != http.StatusServiceUnavailable || strings.Contains(body, "secret-name") || strings.Contains(body, "crisp_quota") {
			t.Errorf("readyz with %q: %d %s, want 503 and no details", auth, code, body)
		}
	}
	code, body := get("Bearer admin-tok")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "secret-name") || !strings.Contains(body, `"left":7`) {
		t.Errorf("readyz as admin: %d %s, want 503 with the reason and the quota", code, body)
	}
	ready = nil
	if code, body := get(""); code != http.StatusOK || body != `{"status":"ready"}` {
		t.Errorf("ready, anonymous: %d %s", code, body)
	}
	if code, body := get("Bearer admin-tok"); code != http.StatusOK || !strings.Contains(body, "crisp_quota") {
		t.Errorf("ready, admin: %d %s, want the quota detail", code, body)
	}
}

// TestAllowHost: with LoopbackHost (the demo), a request whose Host is not a loopback name reaches
// no route, the admin API included.
func TestAllowHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "LOCALHOST": true, "[::1]:8080": true, "127.1.2.3": true,
		"demo.localhost:8080": true, "localhost.:80": true,
		"evil.example:8080": false, "127.0.0.1.evil.example": false, "localhost.evil.example": false,
		"0.0.0.0:8080": false, "192.168.1.10:8080": false, "": false, "[::ffff:7f00:1]:80": true,
	} {
		if got := web.LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
	s := &web.Server{Bridge: &controller{}, AdminToken: "admin-tok", AllowHost: web.LoopbackHost,
		Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "demo page admin-tok")
		})}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, path := range []string{"/v1/conversations/w/s", "/demo/", "/healthz"} {
		for _, host := range []string{"", "rebound.example"} {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			if host != "" {
				req.Host = host + ":" + req.URL.Port()
			}
			req.Header.Set("Authorization", "Bearer admin-tok")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if host != "" && (res.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(b), "admin-tok")) {
				t.Errorf("GET %s with Host %s: %d %s, want 421", path, req.Host, res.StatusCode, b)
			}
			if host == "" && res.StatusCode != http.StatusOK {
				t.Errorf("GET %s from loopback: %d %s", path, res.StatusCode, b)
			}
		}
	}
}
