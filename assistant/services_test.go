package assistant_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// A question about a service the articles never name (collecting in person, gifts, combining
// discounts, instalments, cash, text messages, two-factor login, jobs, organic coffee) is refused,
// however well its other words match an article; the same words meaning something else ("my cash
// back", a courier's "pickup"), or another question beside it, are answered as before; a website
// whose articles name the service answers it.
func TestServicesTheArticlesNeverName(t *testing.T) {
	a := demoAssistant(t)
	wantArticles(t, a, []articleCase{
		{"en", "Could I pick up my order in person at the roastery in Girona?", ""},
		{"es", "¿puedo pasar a recoger el pedido al tostadero de Girona?", ""},
		{"fr", "vous livrez en point relais ?", ""},
		{"es", "¿puedo regalar una suscripción?", ""},
		{"en", "Can I combine the student discount with the annual prepayment?", ""},
		{"es", "¿se puede pagar a plazos?", ""},
		{"ca", "accepteu pagament en efectiu a l'entrega?", ""},
		{"en", "can I get text message updates about my delivery instead of emails?", ""},
		{"en", "do you offer two-factor authentication for logging in?", ""},
		{"ca", "el cafè és de comerç just?", ""},
		{"en", "posted my return last monday, when do i get my cash back", "/returns"},
		{"en", "where do I drop off the box if I'm returning something? is there a pickup?", "/returns"},
		{"es", "¿Tengo que llevar la devolución a algún sitio en concreto o pasan a recogerla?", "/devoluciones"},
		{"en", "can i pay w apple pay? and do you do decaf by any chance", "/payments"},
	})

	// With a model, the passages it is given name the service too: none here.
	for _, q := range []string{"Could I pick up my order in person at the roastery in Girona?", "¿se puede pagar a plazos?"} {
		if ps := a.Passages(context.Background(), "", "en", q, ""); len(ps) > 0 {
			t.Errorf("%q: passages for the model %s#%s..., want none", q, ps[0].File, ps[0].Section)
		}
	}
	if ps := a.Passages(context.Background(), "", "en", "can i pay w apple pay? and do you do decaf by any chance", ""); len(ps) == 0 {
		t.Error("two questions, one about a service: no passage for the model")
	}

	dir := t.TempDir()
	for name, body := range map[string]string{
		"collect.md":  "---\ntitle: Click and collect\nurl: https://help.example/collect\n---\nYou can pick up your order in person at our roastery in Girona, Monday to Friday.\n",
		"shipping.md": "---\ntitle: Shipping\nurl: https://help.example/shipping\n---\nWe ship from our roastery in Girona to the whole of Europe.\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := MustNew(t, assistant.Config{}, nil, MustLoadKB(t, dir))
	ans := replyTo(t, b, "en", "Could I pick up my order in person at the roastery in Girona?")
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "/collect") {
		t.Errorf("with a click-and-collect article: %+v, want it", ans)
	}
}

// Opening an account said as visitors say it ("make an account", "fer un compte nou") reaches
// the section that creates one, not the one that deletes it; wiping one's data deletes the account.
func TestAccountPhrases(t *testing.T) {
	a := demoAssistant(t)
	wantArticles(t, a, []articleCase{
		{"en", "hey how do i make an account with you guys", "#create-an-account"},
		{"ca", "com em faig un compte nou?", "#create-an-account"},
		{"en", "I want all my personal data wiped from your systems, how do I go about it?", "#delete-your-account"},
	})
}

// What a visitor tells of before asking (bought, never, ago, yesterday) is no subject the articles
// lack: "how do i register? never ordered before" is about registering.
func TestStoryWordsAreNoSubject(t *testing.T) {
	a := demoAssistant(t)
	wantArticles(t, a, []articleCase{
		{"en", "how do i register with you guys? never ordered before", "#create-an-account"},
		{"en", "I cancelled yesterday but just got a shipping email?? why am I still getting a parcel", "/subscription#cancel-your-subscription"},
	})
}

// A payment that "didn't go through" failed; paying a year to get "a better price" or "más barato"
// asks for the discounts.
func TestPaymentPhrases(t *testing.T) {
	a := demoAssistant(t)
	wantArticles(t, a, []articleCase{
		{"en", "my card expired and the subscription charge didnt go through, what now", "#failed-payments"},
		{"fr", "mon paiement pour l'abonnement n'est pas passé, qu'est-ce qui se passe maintenant", "#failed-payments"},
		{"en", "If I pay for the whole year upfront, do I get a better price?", "#discounts"},
		{"es", "si pago el año entero sale mas barato?", "#discounts"},
		{"en", "my card expired and the monthly charge bounced, what happens now", "#failed-payments"},
	})
}

// Everyday words for the articles' things: a "sticker" is the return label, tracking that "hasn't
// updated" a late parcel, "hasta cuándo" a time limit.
func TestEverydayWords(t *testing.T) {
	a := demoAssistant(t)
	wantArticles(t, a, []articleCase{
		{"en", "Where do I get the shipping sticker to put on a return?", "#how-to-return-an-order"},
		{"en", "The courier tracking hasn't updated since last Monday. Will you send me another one?", "#lost-or-late-parcel"},
		{"es", "¿Hasta cuándo tengo para devolver algo que compré?", "#plazo-de-devoluci"},
	})
}
