package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge/web"
)

// The admin API lists a website's knowledge gaps, most frequent first, behind the admin token.
func TestKnowledgeGapsRoute(t *testing.T) {
	gaps := &assistant.Gaps{}
	gaps.Record("w1", "what are your opening hours?")
	gaps.Record("w1", "Do you sell gift cards? mail me at ana@example.com")
	gaps.Record("w1", "What are your OPENING hours")
	gaps.Record("w2", "other website")
	s := &web.Server{Bridge: &controller{}, AdminToken: "tok", Gaps: gaps}
	h := s.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/websites/w1/gaps", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", rec.Code)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/websites/w1/gaps?limit=10", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var body struct {
		Gaps []assistant.Gap `json:"gaps"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Gaps) != 2 || body.Gaps[0].Count != 2 || body.Gaps[1].Question != "Do you sell gift cards? mail me at [email]" {
		t.Fatalf("gaps = %+v, want opening hours twice first, then the gift cards without the email", body.Gaps)
	}
	req = httptest.NewRequest(http.MethodGet, "/v1/websites/w1/gaps?limit=0", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("limit=0: %d, want 400", rec.Code)
	}
}
