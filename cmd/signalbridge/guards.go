package main

// Guards against a hostile visitor and a runaway bill (docs/security.md): which websites are
// served, what /readyz tells the operator about the Crisp quota, and the one redaction of URLs.

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// served reports whether events of websiteID are processed: a website listed by id, or any when
// websites.allow_unknown is on. The first event of an unlisted website is logged once (a website
// that installed the plugin without being configured), the rest dropped silently.
func (a *app) served(websiteID string) bool {
	if _, ok := a.cfg.Websites[websiteID]; ok && websiteID != "default" {
		return true
	}
	if a.cfg.AllowUnknown {
		return true
	}
	if _, seen := a.unknown.LoadOrStore(websiteID, true); !seen {
		a.log.Warn("event of a website not in the config dropped: list it under websites (or set websites.allow_unknown: true)",
			"website", websiteID)
	}
	return false
}

// unknownWebsites remembers the unlisted websites already logged.
type unknownWebsites = sync.Map

// readyDetail is /readyz's detail for the admin: the Crisp quota, and whether it is why calls wait.
func (a *app) readyDetail() map[string]any {
	stats := a.client.QuotaStats()
	if stats == nil {
		return map[string]any{"crisp_quota": map[string]any{"daily": "unlimited"}}
	}
	waiting := map[string]int64{}
	classes := map[string]any{}
	for _, q := range stats {
		classes[q.Class] = map[string]any{"granted": q.Granted, "waited": q.Waited, "refused": q.Refused,
			"waiting": q.Waiting, "reserve_above": q.Floor}
		if q.Waiting > 0 {
			waiting[q.Class] = q.Waiting
		}
	}
	d := map[string]any{"left": a.client.QuotaLeft(), "daily": a.cfg.Crisp.DailyQuota, "classes": classes}
	if len(waiting) > 0 {
		d["waiting"] = waiting
		d["note"] = "Crisp calls are waiting for the client-side daily quota (crisp.daily_quota)"
	}
	return map[string]any{"crisp_quota": d}
}

// secretParams are query parameters whose values redactURL hides.
var secretParams = []string{"key", "token", "secret", "password", "pass", "api_key", "apikey", "access_token", "sig", "signature", "auth"}

// redactURL is the one redaction of a URL printed anywhere (logs, errors, `check`, the config's
// String): the password of its user info and the values of secret-looking query parameters are
// replaced by "redacted". An unparsable value is not printed at all.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable url]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			for _, s := range secretParams {
				if strings.EqualFold(k, s) {
					q[k] = []string{"redacted"}
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// urlInText finds the URLs in a text (an error message quoting a request's URL).
var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

// redactText applies redactURL to every URL in s: for error messages printed by check and logs.
func redactText(s string) string {
	return urlInText.ReplaceAllStringFunc(s, redactURL)
}

// unservedWarning is the warning of a configuration that serves no website: none is listed by id
// and websites.allow_unknown is off, so every event would be dropped ("" when some are served).
func (c Config) unservedWarning() string {
	if c.AllowUnknown {
		return ""
	}
	for id := range c.Websites {
		if id != "default" {
			return ""
		}
	}
	return "websites: no website is listed by id and websites.allow_unknown is off: every event will be dropped; " +
		"list your website ids under websites (or set websites.allow_unknown: true)"
}
