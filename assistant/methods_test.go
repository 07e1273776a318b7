package assistant_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// A city the articles never name reaches the passage naming its country or region; a place alone
// is never a sure answer.
func TestReplyPlaces(t *testing.T) {
	a := demoAssistant(t)
	ask := func(lang, text string) assistant.Answer {
		t.Helper()
		ans, err := a.Reply(context.Background(), assistant.Question{Language: lang,
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: text}}})
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	for _, tc := range []struct{ lang, text, url string }{
		{"en", "do you deliver to Stockholm?", "/en/shipping#international-shipping"},
		{"en", "do you deliver to Munich?", "/en/shipping"},
		{"en", "how long does delivery to Warsaw take?", "/en/shipping#delivery-times"},
	} {
		ans := ask(tc.lang, tc.text)
		if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, tc.url) {
			t.Errorf("%q = %+v, want a source under %s", tc.text, ans.Sources, tc.url)
		}
	}
	if ans := ask("fr", "quelle est la capitale du canada"); len(ans.Sources) > 0 && !ans.Weak {
		t.Errorf("the capital of Canada = %+v, want at most a weak match", ans)
	}
}

// A follow-up is about the article the assistant cited last: its passages rank higher.
func TestReplyFollowUpKeepsTopic(t *testing.T) {
	a := demoAssistant(t)
	h := []assistant.Turn{{Role: assistant.RoleVisitor, Text: "what does delivery cost?"}}
	first, err := a.Reply(context.Background(), assistant.Question{Language: "en", History: h})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Sources) == 0 || !strings.Contains(first.Sources[0].URL, "/en/shipping") {
		t.Fatalf("first answer = %+v, want the shipping article", first)
	}
	h = append(h, assistant.Turn{Role: assistant.RoleAssistant, Text: first.Text},
		assistant.Turn{Role: assistant.RoleVisitor, Text: "and for subscribers?"})
	ans, err := a.Reply(context.Background(), assistant.Question{Language: "en", History: h})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "/en/shipping") {
		t.Errorf("follow-up = %+v, want the shipping article again", ans)
	}
}
