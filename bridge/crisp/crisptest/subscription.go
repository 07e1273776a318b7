package crisptest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
)

// Plugin subscription settings, as the official clients call them (go-crisp-api PluginService
// GetSubscriptionSettings / SaveSubscriptionSettings / UpdateSubscriptionSettings, crisp-api
// PluginSubscription): GET, PUT (replace) and PATCH (merge) plugins/subscription/{website}/{plugin}/settings
// with the settings object as the body. A save emits plugin:settings:saved {website_id, plugin_id,
// settings} and the settings show in plugin/connect/websites.

// WebsiteToken returns the plugin token of a website, as plugin/connect/websites lists it.
func (s *Server) WebsiteToken(websiteID string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(websiteID)))[:32]
}

// SubscriptionSettings returns the plugin settings saved for a website (nil when none).
func (s *Server) SubscriptionSettings(websiteID string) map[string]any {
	var out map[string]any
	_ = s.view(func() error {
		if w, ok := s.websites[websiteID]; ok && w.settings != nil {
			out = maps.Clone(w.settings)
		}
		return nil
	})
	return out
}

func (s *Server) restGetSubscriptionSettings(r *http.Request, _ []byte) (result, error) {
	if r.PathValue("plugin") != s.opts.PluginID {
		return result{}, errNotFound("plugin not found")
	}
	return s.getSite(r, resolved, func(w *website) any {
		settings := w.settings
		if settings == nil {
			settings = map[string]any{}
		}
		return map[string]any{"plugin_id": s.opts.PluginID, "website_id": w.id, "token": s.WebsiteToken(w.id),
			"schema": map[string]any{}, "settings": settings, "settings_form_url": "", "callback_url": ""}
	})
}

// restSaveSubscriptionSettings is PUT (replace) and PATCH (merge).
func (s *Server) restSaveSubscriptionSettings(r *http.Request, body []byte) (result, error) {
	if r.PathValue("plugin") != s.opts.PluginID {
		return result{}, errNotFound("plugin not found")
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return result{}, errInvalid("settings must be an object")
	}
	err := s.update(func(e *emitter) error {
		w, err := s.site(r.PathValue("w"))
		if err != nil {
			return err
		}
		if r.Method == http.MethodPatch && w.settings != nil {
			maps.Copy(w.settings, in)
		} else {
			w.settings = in
		}
		e.emit(w.id, "", "plugin:settings:saved", map[string]any{"website_id": w.id, "plugin_id": s.opts.PluginID,
			"settings": maps.Clone(w.settings)})
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}
