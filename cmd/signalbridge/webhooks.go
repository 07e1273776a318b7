package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/webhook"
)

// WebhooksConfig is a website's webhook endpoints, called by its guided steps' webhook blocks
// (docs/webhooks.md). Only these URLs are ever called: a scenario names an endpoint, never a URL.
//
//	webhooks:
//	  secret_env: ACME_WEBHOOK_SECRET   # the signing secret, from the environment (>= 16 bytes)
//	  deadline: 2m                      # a failing call is retried this long, then fails for good
//	  endpoints:
//	    booking: https://booking.acme.example/signalbridge
type WebhooksConfig struct {
	SecretEnv string            `yaml:"secret_env"`
	Deadline  time.Duration     `yaml:"deadline"`
	Endpoints map[string]string `yaml:"endpoints"`

	secret string // set by the demo for its own booking system, instead of SecretEnv
}

var endpointNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// minWebhookSecret is the shortest signing secret accepted.
const minWebhookSecret = 16

// validateWebhooks reports the problems of a website's webhooks and of its scenario's webhook
// blocks, each naming its field.
func (c Config) validateWebhooks(p string, w WebsiteConfig) []error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, c.fieldProblem(field, fmt.Sprintf(format, a...)))
	}
	var endpoints map[string]string
	if wh := w.Webhooks; wh != nil {
		endpoints = wh.Endpoints
		f := p + ".webhooks"
		if len(wh.Endpoints) == 0 {
			bad(f+".endpoints", "must name at least one endpoint (name: https://...)")
		}
		for _, name := range slices.Sorted(maps.Keys(wh.Endpoints)) {
			u, err := url.Parse(wh.Endpoints[name])
			switch {
			case !endpointNameRe.MatchString(name):
				bad(f+".endpoints."+name, "the endpoint name must be letters, digits, _ . or - (what a webhook block's webhook: says)")
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil:
				bad(f+".endpoints."+name, "must be an absolute http(s) URL without credentials, got %q", wh.Endpoints[name])
			}
		}
		if wh.SecretEnv == "" {
			bad(f+".secret_env", "is required: the environment variable holding the signing secret (at least %d bytes)", minWebhookSecret)
		}
		if wh.Deadline < 0 || wh.Deadline > 24*time.Hour {
			bad(f+".deadline", "must be between 0 (10m) and 24h, got %s", wh.Deadline)
		}
	}
	if st, err := loadSteps(w.Scenario, w.Languages); err == nil {
		if s, ok := st.(steps); ok {
			for _, name := range s.p.WebhookEndpoints() {
				if _, ok := endpoints[name]; !ok {
					bad(p+".scenario", "a webhook block calls endpoint %q, which %s.webhooks.endpoints does not define", name, p)
				}
			}
		}
	}
	return errs
}

// webhookSettings builds a website's webhook settings, reading its secret from the environment.
func webhookSettings(id string, w WebsiteConfig) (*bridge.WebhookSettings, error) {
	wh := w.Webhooks
	if wh == nil {
		return nil, nil
	}
	secret := wh.secret
	if secret == "" {
		secret = os.Getenv(wh.SecretEnv)
	}
	if len(secret) < minWebhookSecret {
		return nil, fmt.Errorf("websites.%s.webhooks.secret_env: environment variable %s must hold at least %d bytes", id, wh.SecretEnv, minWebhookSecret)
	}
	return &bridge.WebhookSettings{Endpoints: wh.Endpoints, Secret: []byte(secret), Deadline: wh.Deadline}, nil
}

// webhookPoster performs the bridge's webhook calls with package webhook's signed client.
type webhookPoster struct{ c *webhook.Client }

func newWebhookPoster() webhookPoster { return webhookPoster{c: &webhook.Client{}} }

// PostWebhook sends one call; the body is the same on every retry of a delivery.
func (p webhookPoster) PostWebhook(ctx context.Context, url string, secret []byte, d bridge.WebhookDelivery) (bridge.WebhookResult, error) {
	body, err := json.Marshal(webhook.Request{Delivery: d.Delivery, Event: "guided_steps.webhook", Website: d.WebsiteID,
		Session: d.SessionID, Block: d.Block, Endpoint: d.Endpoint, Email: d.Email, Language: d.Language,
		Answers: d.Answers, Timestamp: d.At / 1000})
	if err != nil {
		return bridge.WebhookResult{}, fmt.Errorf("encode webhook body: %w", err)
	}
	r, err := p.c.Post(ctx, url, secret, d.Delivery, body)
	if err != nil {
		return bridge.WebhookResult{}, err
	}
	return bridge.WebhookResult{Message: r.Message, Data: r.Data, Branch: r.Branch}, nil
}
