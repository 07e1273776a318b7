package assistant

import (
	"slices"
	"strings"
	"testing"
)

// The demo's Spanish articles translate six sections of the English ones; findTranslations pairs
// exactly those, each both ways, and nothing else (no section of an article without a version in
// the other language, however close in subject: "Lost or late parcel" is not "Plazos de entrega").
func TestTranslationsPairTheDemoSections(t *testing.T) {
	kb, err := LoadKnowledgeBase("testdata/kb-demo")
	if err != nil {
		t.Fatal(err)
	}
	idx := kb.idx
	var got []string
	for d, ts := range idx.translations {
		for _, o := range ts {
			got = append(got, idx.docs[d].File+"#"+idx.docs[d].Section+" = "+idx.docs[o].File+"#"+idx.docs[o].Section)
			if !slices.Contains(idx.translations[o], int32(d)) {
				t.Errorf("%s#%s -> %s#%s is not paired back", idx.docs[d].File, idx.docs[d].Section, idx.docs[o].File, idx.docs[o].Section)
			}
		}
	}
	slices.Sort(got)
	want := []string{
		"devoluciones.md#Cómo devolver un pedido = returns.md#How to return an order",
		"devoluciones.md#Plazo de devolución = returns.md#Return window",
		"devoluciones.md#Reembolsos = returns.md#Refunds",
		"envios.md# = shipping.md#",
		"envios.md#Gastos de envío = shipping.md#Shipping costs",
		"envios.md#Plazos de entrega = shipping.md#Delivery times",
		"returns.md#How to return an order = devoluciones.md#Cómo devolver un pedido",
		"returns.md#Refunds = devoluciones.md#Reembolsos",
		"returns.md#Return window = devoluciones.md#Plazo de devolución",
		"shipping.md# = envios.md#",
		"shipping.md#Delivery times = envios.md#Plazos de entrega",
		"shipping.md#Shipping costs = envios.md#Gastos de envío",
	}
	if !slices.Equal(got, want) {
		t.Errorf("translations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A Spanish question whose words match the English section better (it says a sentence more about
// opened bags) is answered with the Spanish version of that section, in Spanish, never "we only
// have this in English"; a passage from an index since reloaded has no translation.
func TestTranslationAnswersInTheVisitorsLanguage(t *testing.T) {
	ans := demoReply(t, "es", "abrí una bolsa y no me gusta nada el tueste, ¿la puedo devolver?")
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "/es/devoluciones") {
		t.Fatalf("sources %v, want the Spanish returns article; text %q", ans.Sources, ans.Text)
	}
	if notice, _, _ := strings.Cut(DefaultStrings().Get("es", StrOtherLang), "{"); strings.Contains(ans.Text, notice) {
		t.Errorf("answer says it exists in another language only: %q", ans.Text)
	}
	if !strings.Contains(ans.Text, "Plazo de devolución") {
		t.Errorf("answer %q does not give the Spanish section", ans.Text)
	}
	kb, err := LoadKnowledgeBase("testdata/kb-demo")
	if err != nil {
		t.Fatal(err)
	}
	hits := kb.Find(Query{Text: "return window unopened coffee", Lang: "en"}, 1)
	if len(hits) == 0 || hits[0].File != "returns.md" {
		t.Fatalf("hits %v", hits)
	}
	if v, ok := kb.Translation(hits[0], "es"); !ok || v.File != "devoluciones.md" || v.Match != hits[0].Match {
		t.Errorf("translation %+v %v, want devoluciones.md with the same Match", v, ok)
	}
	if _, ok := kb.Translation(hits[0], "fr"); ok {
		t.Error("a French version was found where there is none")
	}
	stale := hits[0]
	stale.Text = "an older version of the section"
	if _, ok := kb.Translation(stale, "es"); ok {
		t.Error("a passage whose text the index no longer has was translated")
	}
}
