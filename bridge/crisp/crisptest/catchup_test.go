package crisptest_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// The routes a REST catch-up uses: the conversation list (paging, order_date_updated,
// filter_date_start / filter_date_end, include_empty) and the messages list (timestamp_before paging),
// with updated_at moving on every change.

// listItem is the part of a Conversation list item the tests check.
type listItem struct {
	SessionID string `json:"session_id"`
	WebsiteID string `json:"website_id"`
	State     string `json:"state"`
	Meta      struct {
		Data map[string]any `json:"data"`
	} `json:"meta"`
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
}

// waitNextMillisecond returns once the clock has moved past ms, so the next change gets a later
// updated_at (a wait on the clock itself, bounded by a millisecond).
func waitNextMillisecond(ms int64) {
	for time.Now().UnixMilli() <= ms {
		time.Sleep(100 * time.Microsecond)
	}
}

func isoMillis(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

// newConversations creates n conversations with one visitor message each and returns their ids.
func newConversations(t *testing.T, c *client, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		created := decode[map[string]string](t, c.mustDo(t, 201, "POST", "website/"+website+"/conversation", nil).Data)
		ids[i] = created["session_id"]
		c.mustDo(t, 202, "POST", convPath(ids[i])+"/message", map[string]any{"type": "text", "from": "user", "origin": "chat", "content": fmt.Sprintf("q%d", i)})
	}
	return ids
}

func TestListConversationsPagingAndShape(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	ids := newConversations(t, c, 45)
	empty := decode[map[string]string](t, c.mustDo(t, 201, "POST", "website/"+website+"/conversation", nil).Data)["session_id"]

	list := func(page int, query string) []listItem {
		t.Helper()
		return decode[[]listItem](t, c.mustDo(t, 200, "GET", fmt.Sprintf("website/%s/conversations/%d%s", website, page, query), nil).Data)
	}
	// Crisp's default page is 20; per_page goes from 20 to 50.
	var sizes []int
	var seen []string
	for page := 1; page <= 4; page++ {
		items := list(page, "?order_date_updated=1")
		sizes = append(sizes, len(items))
		for _, it := range items {
			seen = append(seen, it.SessionID)
		}
	}
	if !slices.Equal(sizes, []int{20, 20, 5, 0}) {
		t.Fatalf("page sizes = %v, want [20 20 5 0]", sizes)
	}
	if got := len(list(1, "?per_page=50")); got != 45 {
		t.Fatalf("per_page=50: got %d, want 45", got)
	}
	slices.Sort(seen)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("paging returned %d distinct sessions, want the 45 with a message", len(slices.Compact(seen)))
	}
	for _, q := range []string{"?per_page=19", "?per_page=51", "?per_page=x", "?order_date_updated=2", "?filter_date_start=yesterday", "?include_empty=yes"} {
		c.mustDo(t, 400, "GET", "website/"+website+"/conversations/1"+q, nil)
	}
	c.mustDo(t, 400, "GET", "website/"+website+"/conversations/0", nil)

	// The item shape: a Conversation with its meta, state and dates.
	raw := decode[[]map[string]any](t, c.mustDo(t, 200, "GET", "website/"+website+"/conversations/1?per_page=20", nil).Data)
	for _, k := range []string{"session_id", "website_id", "state", "status", "meta", "created_at", "updated_at", "last_message", "preview_message", "waiting_since"} {
		if _, ok := raw[0][k]; !ok {
			t.Fatalf("list item has no %q: %v", k, raw[0])
		}
	}
	if _, ok := raw[0]["meta"].(map[string]any)["data"]; !ok {
		t.Fatalf("list item meta has no data: %v", raw[0]["meta"])
	}

	// Conversations without any message are listed only with include_empty=1.
	all := list(1, "?per_page=50&include_empty=1")
	if len(all) != 46 || !slices.ContainsFunc(all, func(it listItem) bool { return it.SessionID == empty }) {
		t.Fatalf("include_empty=1: got %d items, want 46 with the empty one", len(all))
	}
}

func TestListConversationsUpdatedOrderAndDateFilter(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	ids := newConversations(t, c, 3)
	// Move each conversation's updated_at past the others' with a different kind of change: a
	// message, a state change, a data change. Each one must move updated_at.
	changes := []func(session string){
		func(session string) {
			c.mustDo(t, 202, "POST", convPath(session)+"/message", map[string]any{"type": "text", "from": "user", "origin": "chat", "content": "again"})
		},
		func(session string) {
			c.mustDo(t, 200, "PATCH", convPath(session)+"/state", map[string]any{"state": "resolved"})
		},
		func(session string) {
			c.mustDo(t, 200, "PATCH", convPath(session)+"/meta", map[string]any{"data": map[string]any{"enum": "start_chatbot"}})
		},
	}
	updated := make([]int64, len(ids))
	for i, session := range ids {
		before, _ := s.Conversation(website, session)
		waitNextMillisecond(s.Conversations(website)[0].UpdatedAt) // later than every update so far
		changes[i](session)
		after := decode[listItem](t, c.mustDo(t, 200, "GET", convPath(session), nil).Data)
		if after.UpdatedAt <= before.UpdatedAt {
			t.Fatalf("change %d: updated_at %d, want > %d", i, after.UpdatedAt, before.UpdatedAt)
		}
		updated[i] = after.UpdatedAt
	}

	got := decode[[]listItem](t, c.mustDo(t, 200, "GET", "website/"+website+"/conversations/1?order_date_updated=1", nil).Data)
	order := make([]string, len(got))
	for i, it := range got {
		order[i] = it.SessionID
	}
	if want := []string{ids[2], ids[1], ids[0]}; !slices.Equal(order, want) {
		t.Fatalf("order_date_updated: got %v, want %v (most recently updated first)", order, want)
	}
	if got[0].Meta.Data["enum"] != "start_chatbot" || got[1].State != "resolved" {
		t.Fatalf("list items do not carry the current data and state: %+v", got[:2])
	}

	// filter_date_start / filter_date_end select by updated_at, both bounds inclusive.
	filter := func(q url.Values) []string {
		t.Helper()
		items := decode[[]listItem](t, c.mustDo(t, 200, "GET", "website/"+website+"/conversations/1?"+q.Encode(), nil).Data)
		var out []string
		for _, it := range items {
			out = append(out, it.SessionID)
		}
		return out
	}
	if got := filter(url.Values{"order_date_updated": {"1"}, "filter_date_start": {isoMillis(updated[1])}}); !slices.Equal(got, []string{ids[2], ids[1]}) {
		t.Fatalf("filter_date_start=%s: got %v, want the two last updated", isoMillis(updated[1]), got)
	}
	if got := filter(url.Values{"filter_date_start": {isoMillis(updated[0])}, "filter_date_end": {isoMillis(updated[1])}}); !slices.Equal(got, []string{ids[1], ids[0]}) {
		t.Fatalf("filter window: got %v, want [%s %s]", got, ids[1], ids[0])
	}
	if got := filter(url.Values{"filter_date_start": {isoMillis(updated[2] + 1)}}); len(got) != 0 {
		t.Fatalf("filter_date_start after every update: got %v", got)
	}
}

func TestMessagesTimestampBeforePaging(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	session := decode[map[string]string](t, c.mustDo(t, 201, "POST", "website/"+website+"/conversation", nil).Data)["session_id"]
	base := time.Now().Add(-time.Hour).UnixMilli()
	const n = 100
	for i := range n {
		c.mustDo(t, 202, "POST", convPath(session)+"/message", map[string]any{"type": "text", "from": "user", "origin": "chat",
			"content": fmt.Sprintf("m%d", i), "timestamp": base + int64(i)*1000})
	}
	// Paging back from the newest: pages of 40, oldest first within a page, strictly older each time.
	s.ResetCalls()
	var pages [][]crisptest.Message
	before := int64(0)
	for range 5 {
		q := ""
		if before != 0 {
			q = "?timestamp_before=" + itoa(before)
		}
		page := decode[[]crisptest.Message](t, c.mustDo(t, 200, "GET", convPath(session)+"/messages"+q, nil).Data)
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		before = page[0].Timestamp
	}
	var sizes []int
	var texts []string
	for _, p := range pages {
		sizes = append(sizes, len(p))
		for i, m := range p {
			texts = append(texts, m.Text())
			if i > 0 && m.Timestamp <= p[i-1].Timestamp {
				t.Fatalf("page not oldest first: %d after %d", m.Timestamp, p[i-1].Timestamp)
			}
			if m.SessionID != session || m.WebsiteID != website || m.Fingerprint == 0 || m.From != "user" || m.Type != "text" {
				t.Fatalf("message shape: %+v", m)
			}
		}
	}
	if !slices.Equal(sizes, []int{40, 40, 20}) {
		t.Fatalf("page sizes = %v, want [40 40 20]", sizes)
	}
	if texts[0] != "m60" || texts[40] != "m20" || texts[80] != "m0" {
		t.Fatalf("pages start at %q, %q, %q; want m60, m20, m0", texts[0], texts[40], texts[80])
	}
	calls := s.Calls()
	if len(calls) != 4 || calls[0].Query != "" || calls[1].Query != "timestamp_before="+itoa(base+60_000) {
		t.Fatalf("calls: %+v", calls)
	}
	for _, call := range calls {
		if call.Method != "GET" || call.Path != "/v1/"+convPath(session)+"/messages" {
			t.Fatalf("call %s %s", call.Method, call.Path)
		}
	}
}
