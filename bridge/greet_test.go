package bridge_test

import (
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
)

func TestGreetingMatches(t *testing.T) {
	g := &bridge.Greeting{Pages: []string{"https://shop.example/pricing*", "*/checkout/*/pay", "https://shop.example/"}}
	for url, want := range map[string]bool{
		"https://shop.example/pricing":            true,
		"https://shop.example/pricing?plan=pro":   true,
		"https://shop.example/":                   true,
		"https://shop.example/about":              false,
		"https://other.example/checkout/42/pay":   true,
		"https://other.example/checkout/42/payed": false,
		"http://shop.example/pricing":             false,
	} {
		if got := g.Matches(url); got != want {
			t.Errorf("Matches(%q) = %v, want %v", url, got, want)
		}
	}
	if !(&bridge.Greeting{}).Matches("https://any.example/x") {
		t.Error("no patterns should match every page")
	}
}
