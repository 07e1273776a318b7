package bridge_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// modelChecks is the number of cases TestModelBridge runs in `make test` unless -rapid.checks or
// RAPID_CHECKS says otherwise (`make soak` runs 20,000).
const modelChecks = 150

// TestModelBridge is the model-based test of issue 12: random interleavings of every input over
// two websites and up to four conversations (both start modes, with and without guided steps and
// resume_after, one or both transports), checked after every input and at quiescence against a
// reference model (see model_harness_test.go for the invariants).
func TestModelBridge(t *testing.T) {
	setFlagDefault(t, "rapid.checks", "RAPID_CHECKS", fmt.Sprint(modelChecks))
	setFlagDefault(t, "rapid.steps", "RAPID_STEPS", "40")
	setFlagDefault(t, "rapid.nofailfile", "RAPID_NOFAILFILE", "true")
	var cases, steps atomic.Int64
	start := time.Now()
	rapid.Check(t, func(rt *rapid.T) {
		cases.Add(1)
		specs := make([]siteSpec, 2)
		for i := range specs {
			specs[i] = drawSite(rt, fmt.Sprintf("w%d", i))
		}
		sessions := rapid.IntRange(1, 2).Draw(rt, "sessions")
		dir, err := os.MkdirTemp("", "sb-model-")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		h := newHarness(rt, dir, specs, sessions)
		h.autoEcho = rapid.Bool().Draw(rt, "crisp_echoes_our_writes")
		closed := false
		defer func() {
			if !closed && !h.stuck {
				_ = h.b.Close()
				_ = h.store.Close()
			}
		}()
		rt.Repeat(modelActions(h))
		h.final()
		steps.Add(int64(h.nsteps))
		closed = true
		h.close()
	})
	t.Logf("model: %d cases, %d inputs, in %s; %s", cases.Load(), steps.Load(), time.Since(start).Round(time.Millisecond), statsLine())
}

// setFlagDefault sets a rapid flag unless the command line or its environment variable set it.
func setFlagDefault(t *testing.T, name, env, value string) {
	if _, ok := os.LookupEnv(env); ok {
		return
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if set {
		return
	}
	old := flag.Lookup(name).Value.String()
	if err := flag.Set(name, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set(name, old) })
}

func drawSite(t *rapid.T, id string) siteSpec {
	return siteSpec{
		ID:            id,
		Start:         rapid.SampledFrom([]signals.StartMode{signals.StartAuto, signals.StartWaitForSignal}).Draw(t, id+".start"),
		Steps:         rapid.Bool().Draw(t, id+".steps"),
		Scenario:      rapid.SampledFrom([]string{"", "menu"}).Draw(t, id+".scenario"),
		ResumeAfter:   rapid.SampledFrom([]time.Duration{0, 10 * time.Minute}).Draw(t, id+".resume_after"),
		Via:           rapid.SampledFrom([]string{"rtm", "hooks", "both"}).Draw(t, id+".via"),
		OfferHuman:    rapid.SampledFrom([]int{0, 1, 2}).Draw(t, id+".offer_human"),
		AskEmail:      rapid.Bool().Draw(t, id+".ask_email"),
		NoteCommands:  rapid.Bool().Draw(t, id+".notes"),
		HandoverValue: rapid.SampledFrom([]string{"", "human_please"}).Draw(t, id+".handover_value"),
		Signed:        rapid.SampledFrom([]bool{false, false, true}).Draw(t, id+".signed"),
		Overrides:     rapid.SampledFrom([]bool{false, false, true}).Draw(t, id+".overrides"),
	}
}

// modelActions are the inputs the test draws from.
func modelActions(h *harness) map[string]func(*rapid.T) {
	conv := func(t *rapid.T) bridge.Key { return rapid.SampledFrom(h.keys).Draw(t, "conv") }
	// With SB_MODEL_IGNORE=flood, starts that would run unfinished guided steps are not drawn
	// (defect 1 loops forever there), so the test can look for the next failures.
	startable := func(t *rapid.T, k bridge.Key) {
		if slices.Contains(ignored, "flood") && h.sites[k.WebsiteID].Steps != nil {
			t.Skip("a start on a website with guided steps (flood ignored)")
		}
	}
	n := 0
	uniq := func() int { n++; return n }
	actions := map[string]func(*rapid.T){
		"visitor_text": func(t *rapid.T) {
			k := conv(t)
			text := rapid.SampledFrom([]string{"question", "question", "email", "bad_email", "language"}).Draw(t, "text")
			switch text {
			case "question":
				text = fmt.Sprintf("q%04d", uniq())
			case "email":
				text = fmt.Sprintf("v%04d@example.com", uniq())
			case "bad_email":
				text = fmt.Sprintf("not-an-email-%04d", uniq())
			case "language":
				text = rapid.SampledFrom([]string{"es", "English"}).Draw(t, "lang")
			}
			h.visitorText(k, text)
		},
		"data": func(t *rapid.T) {
			k := conv(t)
			v := rapid.SampledFrom([]string{"start_chatbot", "pause_chatbot", "start#", "pause#", "", "0", "hello",
				"chatbot_paused:human", "human_please", "human_please#", "signed", "signed", "signed:expired", "signed:forged", "signed:replay"}).Draw(t, "value")
			switch v {
			case "signed", "signed:expired", "signed:forged", "signed:replay":
				v = h.signedStart(k, strings.TrimPrefix(strings.TrimPrefix(v, "signed"), ":"))
			case "start#":
				v = fmt.Sprintf("start_chatbot#n%d", uniq())
			case "pause#":
				v = fmt.Sprintf("pause_chatbot#n%d", uniq())
			case "human_please#":
				v = fmt.Sprintf("human_please#n%d", uniq())
			}
			if strings.HasPrefix(v, "start") {
				startable(t, k)
			}
			data := map[string]string{"enum": v}
			if rapid.Bool().Draw(t, "with_other_key") {
				data["plan"] = rapid.SampledFrom([]string{"pro", "free"}).Draw(t, "plan")
			}
			h.dataWrite(k, data, rapid.Bool().Draw(t, "whole"), rapid.Bool().Draw(t, "hooks_first"))
		},
		"data_other": func(t *rapid.T) {
			k := conv(t)
			h.dataWrite(k, map[string]string{"language": rapid.SampledFrom([]string{"es", "fr"}).Draw(t, "language")},
				rapid.Bool().Draw(t, "whole"), rapid.Bool().Draw(t, "hooks_first"))
		},
		"echo_data": func(t *rapid.T) { h.echoData(conv(t), rapid.Bool().Draw(t, "hooks_first")) },
		"click": func(t *rapid.T) {
			k := conv(t)
			switch rapid.SampledFrom([]string{"human", "resolved", "bot_start", "bot_pause", "step_language", "step_menu"}).Draw(t, "button") {
			case "step_menu":
				before := h.snapshot()[k]
				choice := rapid.SampledFrom([]string{"ai", "human", "done"}).Draw(t, "choice")
				h.click(k, stepMenuPicker, choice)
				if after := h.snapshot()[k]; before != nil && after != nil && before.ScenarioIndex >= 0 && after.ScenarioIndex < 0 {
					countStat("menu steps ended by " + choice)
				}
			case "human":
				h.click(k, bridge.PickerAnswer, bridge.ChoiceHuman)
			case "resolved":
				h.click(k, bridge.PickerAnswer, bridge.ChoiceResolve)
			case "bot_start":
				startable(t, k)
				h.click(k, "bot-picker", "enum:start_chatbot")
			case "bot_pause":
				h.click(k, "bot-picker", "enum:pause_chatbot")
			case "step_language":
				h.click(k, stepLanguagePicker, rapid.SampledFrom([]string{"en", "es"}).Draw(t, "lang"))
			}
		},
		"field": func(t *rapid.T) {
			k := conv(t)
			id := rapid.SampledFrom([]string{bridge.FieldEmail, stepEmailField}).Draw(t, "field")
			v := rapid.SampledFrom([]string{"good", "bad"}).Draw(t, "email")
			if v == "good" {
				v = fmt.Sprintf("f%04d@example.com", uniq())
			} else {
				v = "nope"
			}
			h.field(k, id, v)
		},
		"operator_text": func(t *rapid.T) { h.operatorText(conv(t), fmt.Sprintf("o%04d", uniq())) },
		"operator_note": func(t *rapid.T) {
			k := conv(t)
			note := rapid.SampledFrom([]string{"/ai on", "/ai off", "call them back"}).Draw(t, "note")
			if note == "/ai on" {
				startable(t, k)
			}
			h.operatorNote(k, note)
		},
		"state": func(t *rapid.T) {
			h.setState(conv(t), rapid.SampledFrom([]string{"resolved", "pending", "unresolved"}).Draw(t, "state"))
		},
		"echo_state":   func(t *rapid.T) { h.echoState(conv(t)) },
		"availability": func(t *rapid.T) { h.availability(rapid.Bool().Draw(t, "online")) },
		"control": func(t *rapid.T) {
			k := conv(t)
			cmd := rapid.SampledFrom([]string{bridge.ControlStart, bridge.ControlPause, bridge.ControlHandover, bridge.ControlResume}).Draw(t, "command")
			if cmd == bridge.ControlStart || cmd == bridge.ControlResume {
				startable(t, k)
			}
			h.control(k, cmd)
		},
		"sweep": func(t *rapid.T) {
			for _, k := range h.keys {
				startable(t, k)
			}
			h.sweep()
		},
		"advance": func(t *rapid.T) {
			h.advance(rapid.SampledFrom([]time.Duration{2 * time.Minute, 11 * time.Minute, 20 * time.Minute}).Draw(t, "by"))
		},
		"release": func(t *rapid.T) {
			live := h.asst.live()
			if len(live) == 0 {
				t.Skip("no generation pending")
			}
			g := rapid.SampledFrom(live).Draw(t, "generation")
			h.release(g, rapid.SampledFrom([]string{"answer", "answer", "answer", "answer+handover", "answer+resolve", "handover", "error", "budget"}).Draw(t, "outcome"))
		},
		"foreign_message": func(t *rapid.T) {
			k := conv(t)
			if rapid.Bool().Draw(t, "crisp_bot") {
				h.foreignMessage(k, "urn:crisp.im:bot:0", "Hello from the Bot")
				return
			}
			var last string
			for _, c := range h.plat.callsFrom(0) {
				if c.Kind == "send" && c.Key == k && c.Msg.Type == "text" {
					last = c.Msg.Text
				}
			}
			if last == "" {
				t.Skip("nothing of ours to echo")
			}
			h.foreignMessage(k, "urn:test:model:0", last)
		},
		"email_set": func(t *rapid.T) { h.emailSet(conv(t), fmt.Sprintf("e%04d@example.com", uniq())) },
		"race": func(t *rapid.T) {
			live := h.asst.live()
			if len(live) == 0 {
				t.Skip("no generation pending")
			}
			g := rapid.SampledFrom(live).Draw(t, "generation")
			h.raceRelease(g, rapid.SampledFrom([]string{"operator message", "data pause", "admin pause", "human button",
				"resolved state", "resolved button"}).Draw(t, "interrupt"))
		},
		"restart":   func(t *rapid.T) { h.restart() },
		"redeliver": func(t *rapid.T) { h.redeliver(conv(t)) },
	}
	// Weights: rapid draws actions uniformly, so the frequent ones appear under several names.
	actions["visitor_text_2"] = actions["visitor_text"]
	actions["release_2"] = actions["release"]
	actions["release_3"] = actions["release"]
	return actions
}
