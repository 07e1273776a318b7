package crisp

import (
	"context"
	"errors"
	"net/http"
)

// RoutePluginSettings is the plugin's settings for one website (go-crisp-api PluginService
// SaveSubscriptionSettings, crisp-api PluginSubscription.saveSubscriptionSettings).
const RoutePluginSettings = "plugins/subscription/{website}/{plugin}/settings"

// SaveSubscriptionSettings replaces the plugin's settings of a website (PUT, the settings object as
// the body). Crisp keeps them with the subscription, lists them in plugin/connect/websites and
// emits plugin:settings:saved.
func (c *Client) SaveSubscriptionSettings(ctx context.Context, websiteID, pluginID string, settings map[string]any) error {
	if websiteID == "" || pluginID == "" {
		return errors.New("save subscription settings: website id and plugin id are required")
	}
	return c.do(ctx, restCall{op: "save subscription settings", method: http.MethodPut, route: RoutePluginSettings,
		path: restPath("plugins", "subscription", websiteID, pluginID, "settings"), in: settings})
}
