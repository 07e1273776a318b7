package assistant_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// rewriter is a model that rewrites search queries from a table and answers with the first
// passage's link of its prompt; it counts the rewrites asked.
type rewriter struct {
	mu       sync.Mutex
	rewrites int
	prompts  []string
	table    map[string]string // message -> the "code: query" lines it answers
}

func (r *rewriter) Complete(_ context.Context, req assistant.CompletionRequest) (assistant.Completion, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Metadata[assistant.MetaPurpose] == assistant.PurposeSearchQuery {
		r.rewrites++
		r.prompts = append(r.prompts, req.Messages[0].Content)
		return assistant.Completion{Text: r.table[req.Messages[len(req.Messages)-1].Content],
			Usage: assistant.Usage{PromptTokens: 50, CompletionTokens: 10}}, nil
	}
	if m := evalURL.FindStringSubmatch(req.Messages[0].Content); m != nil {
		return assistant.Completion{Text: "See " + m[1], Usage: assistant.Usage{PromptTokens: 300, CompletionTokens: 20}}, nil
	}
	return assistant.Completion{Text: "I don't know."}, nil
}

// With a model, the visitor's words are rewritten into the articles' words in each article
// language (one call, cached per message), the passages found for the rewrite reach the model, and
// the answer cites the passage it used.
func TestQueryRewrite(t *testing.T) {
	const msg = "my beans are stale, can I get my cash back?"
	r := &rewriter{table: map[string]string{msg: "en: refund for a returned order\nes: reembolso de una devolución\nxx: ignored"}}
	kb := MustLoadKB(t, "testdata/kb-demo")
	a := MustNew(t, assistant.Config{}, r, kb, assistant.WithQueryRewrite(0))
	ask := func() assistant.Answer {
		t.Helper()
		ans, err := a.Reply(context.Background(), assistant.Question{WebsiteID: "w", Language: "en",
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: msg}}})
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	ans := ask()
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "/en/returns#refunds") {
		t.Fatalf("answer = %+v, want the refunds section found through the rewrite", ans)
	}
	if ans.Usage.PromptTokens != 350 {
		t.Fatalf("usage = %+v, want the rewrite's tokens added to the answer's", ans.Usage)
	}
	for _, lang := range kb.Languages() {
		if !strings.Contains(r.prompts[0], lang+" (") {
			t.Fatalf("rewrite prompt does not ask for %s: %q", lang, r.prompts[0])
		}
	}
	ask()
	if r.rewrites != 1 {
		t.Fatalf("rewrites = %d, want 1 (cached per message)", r.rewrites)
	}
	// Without the rewrite, the visitor's own words do not reach the refunds section.
	plain := MustNew(t, assistant.Config{}, &rewriter{}, kb)
	got, err := plain.Reply(context.Background(), assistant.Question{WebsiteID: "w", Language: "en",
		History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: msg}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sources) > 0 && strings.Contains(got.Sources[0].URL, "#refunds") {
		t.Fatalf("the message alone finds the refunds section (%s): pick a message that needs the rewrite", got.Sources[0].URL)
	}
}
