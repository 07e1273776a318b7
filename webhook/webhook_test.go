package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/webhook"
)

// The documented test vector (docs/webhooks.md): the Node and Python snippets are checked against it.
const (
	vectorSecret = "whsec_test_3f9a1c2e7b5d4a60"
	vectorTS     = 1774710000
	vectorBody   = `{"answers":{"date":"2026-03-30"},"block":"book"}`
	vectorSig    = "v1=e7033d7c6debcef0225936e163fe868f1468c93b12dcb47922eb79bb8705ee17"
)

func TestSignVector(t *testing.T) {
	got := webhook.Sign([]byte(vectorSecret), vectorTS, []byte(vectorBody))
	if got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte(vectorSecret)
	now := time.Unix(vectorTS+30, 0)
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, "1774710000")
	h.Set(webhook.HeaderSignature, vectorSig)
	if err := webhook.Verify(secret, h, []byte(vectorBody), now, 5*time.Minute); err != nil {
		t.Fatalf("Verify of the vector: %v", err)
	}
	for _, tc := range []struct {
		name   string
		secret string
		body   string
		now    time.Time
		edit   func(http.Header)
		want   error
	}{
		{"body changed", vectorSecret, vectorBody + " ", now, nil, webhook.ErrBadSignature},
		{"wrong secret", "other", vectorBody, now, nil, webhook.ErrBadSignature},
		{"timestamp changed", vectorSecret, vectorBody, now, func(h http.Header) { h.Set(webhook.HeaderTimestamp, "1774710001") }, webhook.ErrBadSignature},
		{"too old", vectorSecret, vectorBody, time.Unix(vectorTS+301, 0), nil, webhook.ErrStale},
		{"from the future", vectorSecret, vectorBody, time.Unix(vectorTS-301, 0), nil, webhook.ErrStale},
		{"no signature", vectorSecret, vectorBody, now, func(h http.Header) { h.Del(webhook.HeaderSignature) }, webhook.ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.Clone()
			if tc.edit != nil {
				tc.edit(h)
			}
			if err := webhook.Verify([]byte(tc.secret), h, []byte(tc.body), tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestClientPost(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	var status int
	var reply string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.Header.Get(webhook.HeaderDelivery) != "d1" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "headers", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	c := &webhook.Client{}
	post := func(st int, body string) (webhook.Reply, error) {
		status, reply = st, body
		return c.Post(context.Background(), srv.URL, secret, "d1", []byte(`{"x":1}`))
	}
	r, err := post(200, `{"message":"Booked for Monday","data":{"booking_id":"B-17"},"branch":"confirmed"}`)
	if err != nil || r.Message != "Booked for Monday" || r.Data["booking_id"] != "B-17" || r.Branch != "confirmed" {
		t.Fatalf("reply = %+v, %v", r, err)
	}
	if r, err := post(204, ""); err != nil || r.Message != "" || r.Branch != "" {
		t.Fatalf("empty reply = %+v, %v", r, err)
	}
	permanent := func(err error) bool {
		var p interface{ Permanent() bool }
		return errors.As(err, &p) && p.Permanent()
	}
	for _, tc := range []struct {
		status    int
		body      string
		permanent bool
	}{
		{500, "boom", false},
		{503, "", false},
		{429, "slow down", false},
		{400, "bad", true},
		{404, "", true},
		{200, `{"mesage":"typo"}`, true},
		{200, `{"data":{"Bad Key":"x"}}`, true},
		{200, "not json", true},
	} {
		_, err := post(tc.status, tc.body)
		if err == nil || permanent(err) != tc.permanent {
			t.Errorf("status %d body %q: err = %v, permanent = %v, want %v", tc.status, tc.body, err, permanent(err), tc.permanent)
		}
	}
	// A signature made with another secret is refused by the receiver (401: permanent).
	_, err = (&webhook.Client{}).Post(context.Background(), srv.URL, []byte("wrong-secret-0000"), "d1", []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong secret: err = %v", err)
	}
}
