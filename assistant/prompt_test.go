package assistant_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// render prints messages the way the golden files store them.
func render(msgs []assistant.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "--- %s\n%s\n", m.Role, m.Content)
	}
	return b.String()
}

func MustGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if got != string(want) {
		tb.Errorf("%s mismatch (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var goldenPassages = []assistant.Passage{
	{Title: "Shipping and delivery", Section: "Delivery times", URL: "https://help.nimbus.example/en/shipping#delivery-times",
		Text: "Orders placed before 11:00 on a weekday are roasted and dispatched the same day."},
	{Title: "Shipping and delivery", Section: "Shipping costs", URL: "https://help.nimbus.example/en/shipping#shipping-costs",
		Text: "Shipping is free on orders over 30 euros and on every subscription."},
}

func longHistory() []assistant.Turn {
	var h []assistant.Turn
	for i := 1; i <= 10; i++ {
		h = append(h,
			assistant.Turn{Role: assistant.RoleVisitor, Text: fmt.Sprintf("Visitor message number %d, asking about parcels and deliveries in some detail.", i)},
			assistant.Turn{Role: assistant.RoleAssistant, Text: fmt.Sprintf("Assistant answer number %d, explaining delivery times with a link.", i)})
	}
	h = append(h, assistant.Turn{Role: assistant.RoleVisitor, Text: "And the last question: is shipping free?"})
	return h
}

func TestBuildPromptGolden(t *testing.T) {
	cfg := assistant.Config{Default: assistant.Website{SystemPrompt: "You are Nimbus Coffee's support assistant."}}
	en := cfg.Website("")
	trimmed := en
	trimmed.HistoryTokens = 80
	tests := []struct {
		name     string
		w        assistant.Website
		q        assistant.Question
		passages []assistant.Passage
	}{
		{"prompt_basic_en", en, assistant.Question{Language: "en", History: []assistant.Turn{
			{Role: assistant.RoleVisitor, Text: "How long does delivery take?"},
		}}, goldenPassages},
		{"prompt_es_visitor_operator", en, assistant.Question{Language: "es-ES", Country: "es", Email: "ana@example.com", History: []assistant.Turn{
			{Role: assistant.RoleVisitor, Text: "Hola, ¿cuánto tarda el envío?"},
			{Role: assistant.RoleAssistant, Text: "Entre 1 y 2 días laborables."},
			{Role: assistant.RoleOperator, Text: "Hola Ana, soy Marta. Tu pedido sale hoy."},
			{Role: assistant.RoleVisitor, Text: "¿Y el envío es gratis?"},
		}}, goldenPassages[1:]},
		{"prompt_history_trimmed", trimmed, assistant.Question{Language: "fr", History: longHistory()}, goldenPassages[:1]},
		{"prompt_no_passages", en, assistant.Question{Language: "ca", History: []assistant.Turn{
			{Role: assistant.RoleVisitor, Text: "Teniu botiga a Barcelona?"},
		}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			MustGolden(t, tc.name, render(assistant.BuildPrompt(tc.w, tc.q, tc.passages)))
		})
	}
}

func TestBuildPromptHistoryWindow(t *testing.T) {
	w := assistant.Config{}.Website("")
	h := longHistory()
	for _, budget := range []int{30, 80, 200, 100000} {
		w.HistoryTokens = budget
		msgs := assistant.BuildPrompt(w, assistant.Question{History: h}, nil)[1:]
		if len(msgs) == 0 || msgs[len(msgs)-1].Content != h[len(h)-1].Text {
			t.Fatalf("budget %d: newest message missing: %v", budget, msgs)
		}
		used := 0
		for _, m := range msgs {
			used += assistant.EstimateTokens(m.Content) + 4
		}
		if used > budget && len(msgs) > 1 {
			t.Errorf("budget %d: %d messages use %d estimated tokens, want <= budget", budget, len(msgs), used)
		}
		// Kept messages are the newest ones, in order.
		for i, m := range msgs {
			if want := h[len(h)-len(msgs)+i].Text; m.Content != want {
				t.Errorf("budget %d: message %d = %q, want %q", budget, i, m.Content, want)
			}
		}
		if budget == 100000 && len(msgs) != len(h) {
			t.Errorf("budget %d: kept %d messages, want all %d", budget, len(msgs), len(h))
		}
		t.Logf("history budget %6d tokens: kept %2d of %d turns (%d tokens)", budget, len(msgs), len(h), used)
	}
}

func TestBuildPromptHugeLastMessageIsCut(t *testing.T) {
	w := assistant.Config{}.Website("")
	w.HistoryTokens = 50
	msgs := assistant.BuildPrompt(w, assistant.Question{History: []assistant.Turn{
		{Role: assistant.RoleVisitor, Text: strings.Repeat("word ", 1000)},
	}}, nil)
	if got := len(msgs[1].Content); got > 200 {
		t.Errorf("last message = %d characters, want cut to <= 200 (50 tokens)", got)
	}
}
