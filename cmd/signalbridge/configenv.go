package main

import (
	"fmt"
	"maps"
	"slices"
)

// envFields maps each environment variable that LoadConfig reads to the field path it sets, so a
// problem with a value from the environment names the variable instead of a line of the file.
var envFields = map[string]string{
	"SIGNALBRIDGE_ADDR": "listen", "SIGNALBRIDGE_DATA": "data", "SIGNALBRIDGE_ADMIN_TOKEN": "admin_token",
	"SIGNALBRIDGE_SCENARIO_TOKEN": "admin_scenario_token", "SIGNALBRIDGE_REDIS_URL": "redis.url",
	"CRISP_IDENTIFIER": "crisp.identifier", "CRISP_KEY": "crisp.key", "CRISP_TIER": "crisp.tier",
	"CRISP_API_URL": "crisp.api_url", "CRISP_RTM_URL": "crisp.rtm_url", "CRISP_EVENTS": "crisp.events",
	"CRISP_HOOKS_SECRET": "crisp.hooks_secret", "CRISP_WEBSITE_HOOK_KEY": "crisp.website_hook_key",
	"CRISP_PLUGIN_URN": "crisp.plugin_urn", "OPENAI_API_KEY": "openai.api_key",
	"OPENAI_BASE_URL": "openai.base_url", "OPENAI_MODEL": "openai.model",
	"OPENAI_EMBEDDING_MODEL": "openai.embedding_model",
}

// noteEnv records that the environment variable name set its field: the field's line in the file
// no longer describes the value, so Validate's message names the variable instead.
func (c *Config) noteEnv(name string) {
	field, ok := envFields[name]
	if !ok {
		return
	}
	delete(c.lines, field)
	if c.env == nil {
		c.env = map[string]string{}
	}
	c.env[field] = name
}

// minStartSecret is the shortest start signing secret run accepts.
const minStartSecret = 16

// envProblems are the problems only the environment can show: each website's start_secret_env
// must name a variable that holds a secret of at least minStartSecret bytes, as run requires.
func (c Config) envProblems(getenv func(string) string) []error {
	var out []error
	for _, id := range slices.Sorted(maps.Keys(c.Websites)) {
		name := c.Websites[id].Signals.StartSecretEnv
		if name == "" {
			continue
		}
		field := "websites." + id + ".signals.start_secret_env"
		var msg string
		switch v := getenv(name); {
		case v == "":
			msg = fmt.Sprintf("environment variable %s is not set; it must hold the start signing secret (at least %d bytes)", name, minStartSecret)
		case len(v) < minStartSecret:
			msg = fmt.Sprintf("environment variable %s must hold at least %d bytes, has %d", name, minStartSecret, len(v))
		default:
			continue
		}
		out = append(out, c.fieldProblem(field, msg))
	}
	return out
}

// envNote is the suffix of a problem whose value came from the environment.
func (c Config) envNote(field string) string {
	if name := c.env[field]; name != "" {
		return " (from " + name + ")"
	}
	return ""
}
