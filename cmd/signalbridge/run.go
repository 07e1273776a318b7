package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

func configPath(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	return getenv("SIGNALBRIDGE_CONFIG")
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("run", "Run the bridge against Crisp with the YAML config (secrets from the environment).", stderr)
	path := fs.String("config", "", "YAML config file (default $SIGNALBRIDGE_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(configPath(*path, getenv), getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config:\n%w", err)
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	a, err := openApp(cfg, log, appOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signalbridge listening on %s\n", a.web.URL())
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Close(sctx)
}

// cmdCheck validates the config and makes one cheap call to Crisp and one to the model, printing
// what is wrong in plain words.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("check", "Validate the config, then reach Crisp and the model with one cheap call each.", stderr)
	path := fs.String("config", "", "YAML config file (default $SIGNALBRIDGE_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := LoadConfig(configPath(*path, getenv), getenv)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL config: %v\n", err)
		return errors.New("config cannot be read")
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stdout, "FAIL config:")
		for _, line := range splitErrors(err) {
			fmt.Fprintf(stdout, "  - %s\n", line)
		}
		return errors.New("config is invalid")
	}
	fmt.Fprintln(stdout, "ok   config")
	failed := false
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	client, err := crisp.NewClient(crisp.ClientConfig{BaseURL: cfg.Crisp.APIURL, Identifier: cfg.Crisp.Identifier,
		Key: cfg.Crisp.Key, Tier: cfg.Crisp.Tier, Timeout: cfg.Crisp.Timeout, MaxRetries: -1})
	if err == nil {
		var ep string
		ep, err = client.Endpoints(ctx)
		if err == nil {
			fmt.Fprintf(stdout, "ok   crisp: token accepted, RTM endpoint %s\n", ep)
		}
	}
	if err != nil {
		failed = true
		fmt.Fprintf(stdout, "FAIL crisp: %s\n", plainCrisp(err))
	}

	// The shared store, when redis.url is set (store.go).
	if line, ok, err := checkRedis(cfg); err != nil {
		failed = true
		fmt.Fprintf(stdout, "FAIL %v\n", err)
	} else if ok {
		fmt.Fprintf(stdout, "ok   %s\n", line)
	}

	if !cfg.UsesModel() {
		fmt.Fprintln(stdout, "ok   model: no OPENAI_API_KEY nor OPENAI_BASE_URL, the offline assistant answers from the knowledge base")
	} else {
		oc, err := openai.New(openai.Config{BaseURL: cfg.OpenAI.BaseURL, APIKey: cfg.OpenAI.APIKey,
			Organization: cfg.OpenAI.Organization, Headers: cfg.OpenAI.Headers, Model: cfg.OpenAI.Model,
			Timeout: cfg.OpenAI.Timeout, Retries: -1})
		if err == nil {
			_, err = oc.Complete(ctx, assistant.CompletionRequest{Model: cfg.OpenAI.Model, MaxTokens: 1,
				Messages: []assistant.Message{{Role: assistant.MessageUser, Content: "ping"}}})
		}
		if err != nil {
			failed = true
			fmt.Fprintf(stdout, "FAIL model %s at %s: %v\n", cfg.OpenAI.Model, cfg.OpenAI.BaseURL, err)
		} else {
			fmt.Fprintf(stdout, "ok   model %s answers\n", cfg.OpenAI.Model)
		}
	}
	for id, w := range cfg.Websites {
		if w.KnowledgeBase == "" {
			continue
		}
		kb, err := assistant.LoadKnowledgeBase(w.KnowledgeBase)
		if err != nil {
			failed = true
			fmt.Fprintf(stdout, "FAIL websites.%s.knowledge_base: %v\n", id, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   websites.%s.knowledge_base: %d passages\n", id, kb.Len())
	}
	if failed {
		return errors.New("some checks failed")
	}
	fmt.Fprintln(stdout, "all checks passed")
	return nil
}

func plainCrisp(err error) string {
	switch {
	case errors.Is(err, crisp.ErrNotAllowed), errors.Is(err, crisp.ErrUnauthorized):
		return "the token is not allowed (check CRISP_IDENTIFIER, CRISP_KEY and CRISP_TIER): " + err.Error()
	case errors.Is(err, crisp.ErrRateLimited):
		return "rate limited by Crisp, try again later: " + err.Error()
	}
	return "cannot reach Crisp at the configured api_url: " + err.Error()
}

func splitErrors(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
