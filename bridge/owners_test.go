package bridge_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
)

func TestWebsiteSettingsKnowledgeURLs(t *testing.T) {
	many := make([]string, bridge.MaxSettingsURLs+1)
	for i := range many {
		many[i] = fmt.Sprintf("https://help.example.com/%d", i)
	}
	for _, tc := range []struct {
		name string
		s    bridge.WebsiteSettings
		want string // "" valid
	}{
		{"two pages", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"https://help.example.com/a", "https://help.example.com:8443/b?x=1#top"}}, ""},
		{"none", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs}, "knowledge_urls is empty"},
		{"http", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"http://help.example.com/a"}}, `"http://help.example.com/a" must start with https://`},
		{"relative", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"/help"}}, "must start with https://"},
		{"file", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"file:///etc/passwd"}}, "must start with https://"},
		{"no host", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"https:///a"}}, "has no host"},
		{"credentials", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"https://u:p@help.example.com/"}}, "user name or password"},
		{"space", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"https://help.example.com/a b"}}, "is not a URL"},
		{"too many", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: many}, "at most 50 pages, got 51"},
		{"too long", bridge.WebsiteSettings{Knowledge: bridge.KnowledgeURLs, KnowledgeURLs: []string{"https://help.example.com/" + strings.Repeat("a", 2048)}}, "longer than 2048 bytes"},
		{"unknown source", bridge.WebsiteSettings{Knowledge: "url"}, "markdown, crisp-helpdesk or urls"},
	} {
		err := tc.s.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate = %v, want valid", tc.name, err)
		case tc.want != "" && (err == nil || !errors.Is(err, bridge.ErrInvalidSettings) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
}
