package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/webpages"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

func configPath(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	return getenv("SIGNALBRIDGE_CONFIG")
}

// runEnvHelp lists the environment variables of run and check; they win over the config file.
const runEnvHelp = `Environment (wins over the config file):
  CRISP_IDENTIFIER, CRISP_KEY   Crisp plugin token (required)
  CRISP_PLUGIN_URN              your plugin's URN, origin of our messages (default urn:signalbridge:assistant:0)
  CRISP_HOOKS_SECRET            plugin web hooks signing secret (required with CRISP_EVENTS hooks or both)
  CRISP_WEBSITE_HOOK_KEY        ?key= of website web hooks (alternative to CRISP_HOOKS_SECRET)
  CRISP_EVENTS                  rtm (default), hooks or both
  CRISP_TIER, CRISP_API_URL, CRISP_RTM_URL
  SIGNALBRIDGE_CONFIG           the config file when --config is not given
  SIGNALBRIDGE_ADDR             listen address (default 127.0.0.1:8080)
  SIGNALBRIDGE_DATA             bbolt data file (default signalbridge.db)
  SIGNALBRIDGE_ADMIN_TOKEN      bearer token of the /v1 admin API (unset: API disabled)
  SIGNALBRIDGE_SCENARIO_TOKEN   narrow token of POST /v1/control?token= (Crisp "Submit Web Hooks"): start, pause, handover, resume
  SIGNALBRIDGE_REDIS_URL        redis://[:password@]host:port/db: share state with other replicas (unset: the bbolt file)
  OPENAI_API_KEY                model key (unset, with no OPENAI_BASE_URL: the offline assistant)
  OPENAI_BASE_URL, OPENAI_MODEL any OpenAI-compatible endpoint and its model (default gpt-4o-mini)
  OPENAI_EMBEDDING_MODEL        embeddings for hybrid retrieval (default text-embedding-3-small; off: lexical only)`

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("run", "Run the bridge against Crisp with the YAML config (secrets from the environment).\n\n"+runEnvHelp, stderr)
	path := fs.String("config", "", "YAML config file (default $SIGNALBRIDGE_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, problems, err := loadConfig(configPath(*path, getenv), getenv)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid config (signalbridge check --config FILE lists the same):\n  - %s", strings.Join(problems, "\n  - "))
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if cfg.Crisp.PluginURN == defaultPluginURN {
		log.Warn("crisp.plugin_urn is the default " + defaultPluginURN + ": set CRISP_PLUGIN_URN to your plugin's URN " +
			"(Crisp Marketplace > your plugin), so our messages carry its origin")
	}
	a, err := openApp(cfg, log, appOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signalbridge listening on %s\n", a.web.URL())
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = a.Close(sctx)
	if err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// cmdCheck validates the config and makes one cheap call to Crisp and one to the model, printing
// what is wrong in plain words.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("check", "Validate the config, then reach Crisp and the model with one cheap call each.\n"+
		"Every wrong field is listed at once, with its line in the file.\n\n"+runEnvHelp, stderr)
	path := fs.String("config", "", "YAML config file (default $SIGNALBRIDGE_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, problems, err := loadConfig(configPath(*path, getenv), getenv)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL config: %v\n", err)
		return errors.New("config cannot be read")
	}
	if len(problems) > 0 {
		fmt.Fprintln(stdout, "FAIL config:")
		for _, line := range problems {
			fmt.Fprintf(stdout, "  - %s\n", line)
		}
		return errors.New("config is invalid")
	}
	fmt.Fprintln(stdout, "ok   config")
	if cfg.Crisp.PluginURN == defaultPluginURN {
		fmt.Fprintf(stdout, "warn crisp.plugin_urn: the default %s names no plugin of yours; set CRISP_PLUGIN_URN\n", defaultPluginURN)
	}
	if w := cfg.unservedWarning(); w != "" {
		fmt.Fprintf(stdout, "warn %s\n", w)
	}
	failed := false
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	client, err := crisp.NewClient(crisp.ClientConfig{BaseURL: cfg.Crisp.APIURL, Identifier: cfg.Crisp.Identifier,
		Key: cfg.Crisp.Key, Tier: cfg.Crisp.Tier, Timeout: cfg.Crisp.Timeout, MaxRetries: -1})
	if err == nil {
		var ep string
		ep, err = client.Endpoints(ctx)
		if err == nil {
			fmt.Fprintf(stdout, "ok   crisp: token accepted, RTM endpoint %s\n", redactURL(ep))
		}
	}
	if err != nil {
		failed = true
		fmt.Fprintf(stdout, "FAIL crisp: %s\n", redactText(plainCrisp(err)))
	}

	// The shared store, when redis.url is set (store.go).
	if line, ok, err := checkRedis(cfg); err != nil {
		failed = true
		fmt.Fprintf(stdout, "FAIL %s\n", redactText(err.Error()))
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
			fmt.Fprintf(stdout, "FAIL model %s at %s: %s\n", cfg.OpenAI.Model, redactURL(cfg.OpenAI.BaseURL), redactText(err.Error()))
		} else {
			fmt.Fprintf(stdout, "ok   model %s answers\n", cfg.OpenAI.Model)
		}
		if cfg.OpenAI.EmbeddingModel != "off" {
			ec, err := openai.New(openai.Config{BaseURL: cfg.OpenAI.BaseURL, APIKey: cfg.OpenAI.APIKey,
				Organization: cfg.OpenAI.Organization, Headers: cfg.OpenAI.Headers, EmbeddingModel: cfg.OpenAI.EmbeddingModel,
				Timeout: cfg.OpenAI.Timeout, Retries: -1})
			if err == nil {
				_, err = ec.Embed(ctx, []string{"ping"})
			}
			if err != nil {
				failed = true
				fmt.Fprintf(stdout, "FAIL embeddings %s (openai.embedding_model; off disables): %s\n", ec.EmbeddingModel(), redactText(err.Error()))
			} else {
				fmt.Fprintf(stdout, "ok   embeddings %s answer\n", ec.EmbeddingModel())
			}
		}
	}
	for id, w := range cfg.Websites {
		if w.KnowledgeBase == "" || (w.KnowledgeBase == KBCrispHelpdesk && id == "default") {
			continue
		}
		if w.KnowledgeBase == KBURLs {
			kb := assistant.NewKnowledgeBase(nil)
			src := webpages.NewSource(webpages.NewFetcher(), w.KnowledgeURLs, kb)
			_, err := src.Sync(ctx)
			for _, p := range src.Status() {
				if p.Error != "" {
					failed = true
					fmt.Fprintf(stdout, "FAIL websites.%s.knowledge_urls: %s\n", id, redactText(p.Error))
				}
			}
			if err == nil {
				fmt.Fprintf(stdout, "ok   websites.%s.knowledge_base: urls, %d passages from %d pages\n", id, kb.Len(), len(src.URLs()))
			}
			continue
		}
		if w.KnowledgeBase == KBCrispHelpdesk {
			if client == nil {
				failed = true
				fmt.Fprintf(stdout, "FAIL websites.%s.knowledge_base: no Crisp client\n", id)
				continue
			}
			kb := assistant.NewKnowledgeBase(nil)
			h := crisp.NewHelpdeskSync(client, id, w.HelpdeskLocales, kb)
			if _, err := h.Sync(ctx); err != nil {
				failed = true
				fmt.Fprintf(stdout, "FAIL websites.%s.knowledge_base: %s\n", id, plainCrisp(err))
				continue
			}
			fmt.Fprintf(stdout, "ok   websites.%s.knowledge_base: crisp-helpdesk, %d passages from %d articles\n", id, kb.Len(), h.ArticleReads())
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

// loadConfig reads and validates the configuration. err is a file that cannot be read or parsed;
// problems lists every wrong field at once (unknown fields and wrong types from the file,
// Validate's, the environment's), each with its path and, when the file sets it, its line, in the
// order of the file's lines (those no line sets last).
func loadConfig(path string, getenv func(string) string) (cfg Config, problems []string, err error) {
	cfg, err = LoadConfig(path, getenv)
	var ce *ConfigError
	if err != nil && !errors.As(err, &ce) {
		return cfg, nil, err
	}
	var errs []error
	if ce != nil {
		errs = splitErrors(ce)
	}
	if verr := cfg.Validate(); verr != nil {
		errs = append(errs, splitErrors(verr)...)
	}
	errs = append(errs, cfg.envProblems(getenv)...)
	sortProblems(errs)
	for _, e := range errs {
		problems = append(problems, e.Error())
	}
	return cfg, problems, nil
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

// splitErrors flattens joined errors into one error each.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// sortProblems orders configuration problems by the line of the file they name; those without a
// line (a value from the defaults or the environment) come last, by field. Problems of one line
// keep their order.
func sortProblems(errs []error) {
	key := func(err error) (int, string) {
		var p *FieldProblem
		if !errors.As(err, &p) {
			return 0, err.Error()
		}
		return p.Line, p.Field
	}
	slices.SortStableFunc(errs, func(a, b error) int {
		la, fa := key(a)
		lb, fb := key(b)
		switch {
		case la == 0 && lb == 0:
			return strings.Compare(fa, fb)
		case la == 0:
			return 1
		case lb == 0:
			return -1
		}
		return cmp.Compare(la, lb)
	})
}
