package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/signals"
)

// TestOwnerSettingsOnEveryReplica: settings saved through one replica's API (the admin token) are
// applied by the other replica on its own, from the shared Redis store: a new conversation, whose
// hooks reach either replica, starts in the saved start mode; the first replica's JSON shows the
// file's values beside the saved ones.
func TestOwnerSettingsOnEveryReplica(t *testing.T) {
	rs := newReplicaSet(t, 2, "hooks")
	body, _ := json.Marshal(bridge.WebsiteSettings{StartMode: "wait_for_signal", Prompt: "Be brief."})
	req, _ := http.NewRequest("PUT", rs.apps[0].web.URL()+"/v1/websites/"+testSite+"/settings", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+rs.cfg.AdminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got web.OwnerSettings
	_ = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || got.Saved.StartMode != "wait_for_signal" || got.File.StartMode != "auto" || got.Version < 1 {
		t.Fatalf("PUT settings = %d %+v; want 200, saved wait_for_signal beside the file's auto", res.StatusCode, got)
	}
	// The other replica applies the same version by itself (it polls the store's version).
	waitCond(t, "replica 1 applies the saved settings", func() bool {
		return rs.apps[1].owners.state.Load().version == got.Version
	})
	for i, a := range rs.apps {
		if m := a.website(testSite).Signals.StartMode; m != signals.StartMode("wait_for_signal") {
			t.Errorf("replica %d start mode = %s, want wait_for_signal", i, m)
		}
		if p := a.assistant().Website(testSite).SystemPrompt; p != "Be brief." {
			t.Errorf("replica %d prompt = %q", i, p)
		}
	}
	// A website without saved settings keeps the file's.
	if m := rs.apps[1].website("6a0d1d7e-1111-4222-8333-944455556666").Signals.StartMode; m != signals.StartMode("auto") {
		t.Errorf("another website's start mode = %s, want the file's auto", m)
	}
	// Conversations on either replica start waiting.
	for _, session := range []string{"session_owner_r1", "session_owner_r2", "session_owner_r3"} {
		v := rs.fake.Visitor(testSite, session, crisptest.VisitorInfo{})
		if _, err := v.Send("Hello?"); err != nil {
			t.Fatal(err)
		}
		waitCond(t, "conversation stored", func() bool {
			c, _, err := rs.apps[0].bridge.Conversation(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: session}, 1)
			return err == nil && len(c.Transcript) > 0
		})
		c, _, _ := rs.apps[1].bridge.Conversation(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: session}, 1)
		if c.Mode != signals.ModeWaiting {
			t.Errorf("%s mode = %s, want waiting", session, c.Mode)
		}
	}
}
