package scenario_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/scenario"
)

// generate writes a scenario of n blocks: messages and pickers alternating in a chain, in two
// languages, ending with the assistant.
func generate(n int) []byte {
	var b strings.Builder
	b.WriteString("start: b0\nlanguages: [en, es]\nblocks:\n")
	for i := 0; i < n-1; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "  - {id: b%d, kind: message, text: {en: \"Message %d\", es: \"Mensaje %d\"}, next: b%d}\n", i, i, i, i+1)
			continue
		}
		fmt.Fprintf(&b, "  - id: b%d\n    kind: picker\n    text: {en: \"Question %d\", es: \"Pregunta %d\"}\n"+
			"    store: data:q%d\n    choices:\n      - {value: a, label: {en: Yes, es: Sí}}\n"+
			"      - {value: b, label: {en: No, es: \"No\"}, next: b%d}\n    next: b%d\n", i, i, i, i, i+1, i+1)
	}
	fmt.Fprintf(&b, "  - {id: b%d, kind: assistant}\n", n-1)
	return []byte(b.String())
}

var sizes = []int{10, 10_000}

// BenchmarkResume resumes a conversation stored at a picker in the middle of the scenario: the
// cost must not depend on the number of blocks.
func BenchmarkResume(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("blocks=%d", n), func(b *testing.B) {
			p := MustLoad(b, string(generate(n)))
			i, ok := p.Lookup(fmt.Sprintf("b%d", n/2|1))
			if !ok {
				b.Fatal("no middle picker")
			}
			cur := p.CursorAt(i)
			ctx := scenario.Context{Language: "es-ES"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if next, steps := p.Run(cur, scenario.Resume{}, ctx); next != cur || len(steps) != 1 {
					b.Fatalf("resume = %d, %d steps", next, len(steps))
				}
			}
		})
	}
}

// BenchmarkAnswer answers the middle picker: the run stores the choice, sends the next message and
// stops at the next picker.
func BenchmarkAnswer(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("blocks=%d", n), func(b *testing.B) {
			p := MustLoad(b, string(generate(n)))
			id := fmt.Sprintf("b%d", n/2|1)
			i, _ := p.Lookup(id)
			cur := p.CursorAt(i)
			in := scenario.PickerChoice{PickerID: scenario.StepIDPrefix + id, Value: "a"}
			ctx := scenario.Context{Language: "en"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, steps := p.Run(cur, in, ctx); len(steps) != 3 {
					b.Fatalf("answer = %d steps", len(steps))
				}
			}
		})
	}
}

// BenchmarkParse measures reading a 10,000-block scenario's YAML.
func BenchmarkParse(b *testing.B) {
	src := generate(10_000)
	b.Run("blocks=10000", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := scenario.Parse(src); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCompile measures validating and linearizing a parsed 10,000-block scenario.
func BenchmarkCompile(b *testing.B) {
	g, err := scenario.Parse(generate(10_000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("blocks=10000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := scenario.Compile(g); err != nil {
				b.Fatal(err)
			}
		}
	})
}
