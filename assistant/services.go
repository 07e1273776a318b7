package assistant

import (
	"slices"
	"strings"
)

// Services a shop may or may not offer: collecting an order in person, gifts, combining discounts,
// paying in instalments or in cash, text messages, two-factor login, jobs, wholesale, organic or
// fair-trade goods, decaf. A question about one ("can I pick my order up at the roastery?",
// "¿se puede pagar a plazos?", "vous livrez en point relais ?") shares its other words with
// passages that do not offer it ("ships from our roastery in Girona", "pay by card", "delivery
// takes 2 days"), and was answered or offered them; a help centre that never names the service has
// no answer to it. Such a question is answered only by a passage that names the service, offline
// and in the passages given to a model, like a request to change something (modify.go). The
// words are those of any shop's customer service, in the four languages the assistant speaks; a
// website whose articles name the service (a "Click and collect" article) is answered as before.

// serviceTopics are the services, each the folded words and phrases that name it.
var serviceTopics = func() [][][]string {
	src := [][]string{
		// Collecting in person, at a shop or a pickup point.
		// The visitor's own collecting, not a courier's ("is there a pickup?", "will the courier pick
		// it up?", "¿pasan a recogerla?").
		{"pick up my", "pick up the", "pick up our", "pick up in", "pick up at", "pick up from", "come pick up",
			"pick my order up", "pick it up myself", "collect my", "collect the order", "collect it myself",
			"click and collect", "in person", "in store", "physical store", "physical shop", "come by", "drop by",
			"pickup point", "parcel locker", "puedo recoger", "recoger el pedido", "recoger mi pedido", "recogerlo yo",
			"recogerlo en", "recoger en", "pasar a recoger", "ir a recoger", "pasar a buscar", "en persona",
			"tienda fisica", "en tienda", "punto de recogida", "retirer ma commande", "retirer mon colis",
			"retrait en magasin", "venir chercher", "en personne", "en magasin", "point relais", "points relais",
			"puc recollir", "recollir la comanda", "passar a recollir", "anar a recollir", "passar a buscar",
			"botiga fisica", "punt de recollida"},
		// Gifts.
		{"gift", "gifts", "gifting", "gift card", "regalar", "regalo", "regalos", "regalarle", "cadeau", "cadeaux",
			"carte cadeau", "regal", "regals", "targeta regal"},
		// Combining offers.
		{"combine", "combined", "combining", "stack", "stacked", "stacking", "juntar", "combinar", "acumular",
			"acumulable", "acumulables", "cumuler", "cumulable", "cumulables", "combiner"},
		// Paying in instalments or later.
		{"instalment", "instalments", "installment", "installments", "pay later", "klarna", "afterpay", "a plazos",
			"en plazos", "cuotas", "en plusieurs fois", "mensualites", "a terminis"},
		// Cash.
		// Not "my cash back": the refund.
		{"in cash", "pay cash", "paying cash", "cash on delivery", "efectivo", "contra reembolso", "contrarreembolso",
			"especes", "efectiu"},
		// Text messages.
		{"sms", "text message", "text messages", "whatsapp", "mensaje de texto", "mensajes de texto", "missatge de text"},
		// Two-factor login.
		{"two factor", "2fa", "two step", "dos pasos", "doble factor", "deux facteurs", "double authentification",
			"deux etapes", "dos passos"},
		// Jobs.
		{"job", "jobs", "hiring", "career", "careers", "vacancy", "vacancies", "ofertas de trabajo", "oferta de trabajo",
			"empleo", "busco trabajo", "emploi", "recrutement", "recrutez", "candidature", "ofertes de feina",
			"oferta de feina", "feina"},
		// Wholesale and resellers.
		{"wholesale", "bulk", "reseller", "resell", "distributor", "al por mayor", "mayorista", "revendedor",
			"en gros", "grossiste", "revendeur", "a l engros", "majorista", "distribuidor"},
		// Organic and fair trade.
		{"organic", "fair trade", "fairtrade", "ecologico", "ecologica", "organico", "bio", "comercio justo",
			"commerce equitable", "equitable", "biologique", "ecologic", "comerc just"},
		// Decaf.
		{"decaf", "decaffeinated", "descafeinado", "deca", "decafeine", "descafeinat"},
	}
	out := make([][][]string, len(src))
	for i, phrases := range src {
		for _, p := range phrases {
			out[i] = append(out[i], strings.Fields(p))
		}
	}
	return out
}()

// serviceNeed returns the services a visitor's message asks about (serviceIn), none when it asks
// another question besides ("can I pay with Apple Pay? and do you do decaf?": the passage that
// answers the first is an answer).
func serviceNeed(text string) []int {
	need := serviceIn(text)
	if len(need) == 0 {
		return nil
	}
	for _, q := range strings.FieldsFunc(text, func(r rune) bool { return r == '?' || r == '¿' }) {
		if strings.Contains(text, q+"?") && len(words(q)) >= 2 && len(serviceIn(q)) == 0 {
			return nil
		}
	}
	return need
}

// serviceIn returns the services (indices of serviceTopics) text names.
func serviceIn(text string) []int {
	ws := words(text)
	var out []int
	for i, phrases := range serviceTopics {
		if slices.ContainsFunc(phrases, func(p []string) bool { return markPhrase(ws, p, nil) }) {
			out = append(out, i)
		}
	}
	return out
}

// namesServices reports whether passage p names every service of need.
func namesServices(p Passage, need []int) bool {
	if len(need) == 0 {
		return true
	}
	have := serviceIn(p.Title + "\n" + p.Section + "\n" + p.Text + "\n" + p.Questions)
	for _, n := range need {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}
