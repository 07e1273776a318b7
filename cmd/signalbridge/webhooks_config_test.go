package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckReportsWebhookProblems: every wrong webhooks field, and a scenario's webhook block that
// calls an endpoint the website does not define, are reported with their path and line.
func TestCheckReportsWebhookProblems(t *testing.T) {
	fake := startFake(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "steps.yaml"), []byte(`start: book
languages: [en]
blocks:
  - {id: book, kind: webhook, webhook: crm, next: ai, failed: ai}
  - {id: ai, kind: assistant}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "signalbridge.yaml")
	if err := os.WriteFile(path, []byte(`websites:
  default:
    scenario: steps.yaml
    webhooks:
      deadline: 48h
      endpoints:
        booking: ftp://booking.example/x
        "bad name": https://x.example/
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL()}
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
		t.Fatalf("check exited 0:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{
		`line 3: websites.default.scenario: a webhook block calls endpoint "crm", which websites.default.webhooks.endpoints does not define`,
		`line 5: websites.default.webhooks.deadline: must be between 0 (10m) and 24h, got 48h0m0s`,
		`line 7: websites.default.webhooks.endpoints.booking: must be an absolute http(s) URL without credentials, got "ftp://booking.example/x"`,
		`line 8: websites.default.webhooks.endpoints.bad name: the endpoint name must be letters, digits, _ . or -`,
		`websites.default.webhooks.secret_env: is required`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

// TestWebhookSecretFromTheEnvironment: a secret shorter than 16 bytes stops the product at start.
func TestWebhookSecretFromTheEnvironment(t *testing.T) {
	t.Setenv("SHORT_SECRET", "short")
	_, err := webhookSettings("default", WebsiteConfig{Webhooks: &WebhooksConfig{SecretEnv: "SHORT_SECRET",
		Endpoints: map[string]string{"b": "https://b.example/"}}})
	if err == nil || !strings.Contains(err.Error(), "websites.default.webhooks.secret_env: environment variable SHORT_SECRET must hold at least 16 bytes") {
		t.Fatalf("err = %v", err)
	}
}

// TestCheckReportsGreetingProblems: the greeting's fields are checked with their path and line.
func TestCheckReportsGreetingProblems(t *testing.T) {
	fake := startFake(t)
	path := writeConfig(t, `websites:
  default:
    greeting:
      text: {en: "  ", xx-yy: "Hi"}
      delay: 1h
      pages: ["https://shop.example/pricing*", "not a pattern"]
`)
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL()}
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
		t.Fatalf("check exited 0:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{
		`line 4: websites.default.greeting.text: the en greeting is empty`,
		`line 4: websites.default.greeting.text: "xx-yy" is not a language code such as en`,
		`line 5: websites.default.greeting.delay: must be between 0 and 10m, got 1h0m0s`,
		`line 6: websites.default.greeting.pages: pattern 2 must be a URL pattern without spaces`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}
