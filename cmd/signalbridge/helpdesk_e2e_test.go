package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// TestDemoHelpdeskKnowledgeBase runs the demo with its knowledge base served by the sandbox's Crisp
// Helpdesk (demo -kb helpdesk): the bridge reads the published articles through REST and answers
// the questions of issue 15 offline, in the visitor's language, linking the helpdesk articles.
func TestDemoHelpdeskKnowledgeBase(t *testing.T) {
	d, err := startDemo(demoOptions{addr: "127.0.0.1:0", data: filepath.Join(t.TempDir(), "signalbridge.db"),
		startMode: "auto", events: "rtm", kb: "helpdesk", getenv: func(string) string { return "" },
		log: testWriter{t}, logLevel: "warn"})
	if err != nil {
		t.Fatalf("start demo: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("close demo: %v", err)
		}
	})
	waitCond(t, "rtm connected", func() bool {
		return d.app.rtm != nil && d.app.rtm.Connected() && d.fake.RTMConnections() >= 1
	})
	if n := d.fake.CallCount("GET", "/helpdesk/locale/"); n < 12 { // 2 listings + 10 article reads
		t.Fatalf("helpdesk calls at startup = %d, want the listings and the 10 articles", n)
	}
	tests := []struct {
		locales        []string
		question, want string
		url            string
	}{
		{[]string{"es-ES", "es"}, "¿Cuánto cuesta el envío?", "El envío es gratuito", "https://help.nimbus.example/es/envios#gastos-de-envío"},
		{[]string{"en-GB"}, "Do you ship to Portugal?", "all EU countries", "https://help.nimbus.example/en/shipping#international-shipping"},
		{[]string{"en-GB"}, "My parcel never arrived", "send a new parcel", "https://help.nimbus.example/en/tracking#lost-or-late-parcel"},
	}
	for _, tc := range tests {
		v := d.fake.Visitor(DemoWebsiteID, "", crisptest.VisitorInfo{Locales: tc.locales})
		if _, err := v.Send(tc.question); err != nil {
			t.Fatal(err)
		}
		var answer string
		t.Cleanup(func() {
			if t.Failed() {
				c, _ := d.fake.Conversation(DemoWebsiteID, v.SessionID())
				for _, m := range c.Messages {
					t.Logf("message %s %s %q", m.From, m.Type, contentText(m))
				}
			}
		})
		waitCond(t, "an answer to "+tc.question, func() bool {
			c, _ := d.fake.Conversation(DemoWebsiteID, v.SessionID())
			for _, m := range c.Messages {
				if m.From == "operator" && (m.Type == "text" || m.Type == "picker") {
					answer = contentText(m)
					return true
				}
			}
			return false
		})
		if !strings.Contains(answer, tc.want) || !strings.Contains(answer, tc.url) {
			t.Errorf("%q: answer %q, want %q and the link %s", tc.question, answer, tc.want, tc.url)
		}
	}
}

func TestConfigHelpdeskKnowledgeBase(t *testing.T) {
	env := envFunc(map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key"})
	path := writeConfig(t, "websites:\n  default:\n    knowledge_base: crisp-helpdesk\n    helpdesk_locales: [en, pt-BR]\n  "+testSite+":\n    language: es\n")
	cfg, err := LoadConfig(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate = %v, want a crisp-helpdesk knowledge base accepted", err)
	}
	w := cfg.Websites[testSite]
	if w.KnowledgeBase != KBCrispHelpdesk || len(w.HelpdeskLocales) != 2 {
		t.Errorf("website inherits %q %v, want crisp-helpdesk and the default's locales", w.KnowledgeBase, w.HelpdeskLocales)
	}
	bad := writeConfig(t, "websites:\n  default:\n    knowledge_base: crisp-helpdesks\n    helpdesk_locales: [\"en us\"]\n")
	cfg, err = LoadConfig(bad, env)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{"websites.default.knowledge_base", "crisp-helpdesk", "websites.default.helpdesk_locales[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to name %q", err, want)
		}
	}
}

func TestCheckCommandHelpdesk(t *testing.T) {
	fake, err := crisptest.Start(crisptest.Options{Identifier: "ident", Key: "key", Websites: []string{testSite}})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	if _, err := fake.SeedHelpdesk(testSite, demoKBFiles()); err != nil {
		t.Fatal(err)
	}
	model := openaitest.MustStart(t)
	env := envFunc(map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(),
		"OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": model.URL()})
	path := writeConfig(t, "websites:\n  "+testSite+":\n    knowledge_base: crisp-helpdesk\n    helpdesk_locales: [es]\n")
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, env); code != 0 {
		t.Fatalf("check exited %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ok   embeddings text-embedding-3-small answer", "knowledge_base: crisp-helpdesk, 6 passages from 2 articles"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}
