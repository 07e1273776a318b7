package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// The shrunk failures TestModelBridge found, kept as deterministic tests. Each replays the inputs
// through the same harness (so every invariant is checked after every step) and then asserts the
// point of the defect directly. The defect numbers are those of issue 12; every test here failed
// on the bridge before its fix.

// regress opens a harness with one conversation per website; it is closed at the end of the test
// unless the bridge was left wedged.
func regress(t *testing.T, specs ...siteSpec) (*harness, bridge.Key) {
	t.Helper()
	h := newHarness(t, t.TempDir(), specs, 1)
	t.Cleanup(func() {
		if !h.stuck && !h.closed {
			_ = h.b.Close()
			_ = h.store.Close()
		}
	})
	return h, h.keys[0]
}

// pendingGen returns the generation being written for k.
func (h *harness) pending(k bridge.Key) *pendingGen {
	h.t.Helper()
	for _, g := range h.asst.live() {
		if g.key == k {
			return g
		}
	}
	h.t.Fatalf("%s: no answer is being written", k.SessionID)
	return nil
}

// sent returns what the bridge posted in k from call index from on.
func (h *harness) sent(k bridge.Key, from int) []platCall {
	var out []platCall
	for _, c := range h.plat.callsFrom(from) {
		if c.Kind == "send" && c.Key == k {
			out = append(out, c)
		}
	}
	return out
}

// Defect 1: a start with unfinished guided steps performs the scenario action again and again
// (perform -> enterSteps -> perform with the same actions): one start posts the email field until
// the flood guard stops it. Shrunk case: wait_for_signal + default steps, an empty data delivery
// (or a visitor message), then any start.
func TestStartDuringGuidedStepsDoesNotFlood(t *testing.T) {
	site := siteSpec{ID: "w", Start: signals.StartWaitForSignal, Steps: true, Via: "rtm", NoteCommands: true, ResumeAfter: 10 * time.Minute}
	starts := map[string]func(h *harness, k bridge.Key){
		"data start_chatbot": func(h *harness, k bridge.Key) {
			h.dataWrite(k, map[string]string{"enum": "start_chatbot"}, false, false)
		},
		"bot button":   func(h *harness, k bridge.Key) { h.click(k, "bot-picker", "enum:start_chatbot") },
		"/ai on note":  func(h *harness, k bridge.Key) { h.operatorNote(k, "/ai on") },
		"admin resume": func(h *harness, k bridge.Key) { h.control(k, bridge.ControlResume) },
		"resume timer": func(h *harness, k bridge.Key) {
			h.control(k, bridge.ControlHandover)
			h.advance(11 * time.Minute)
			h.sweep()
		},
	}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			h, k := regress(t, site)
			h.visitorText(k, "q0001")
			n0 := h.plat.ncalls()
			start(h, k)
			var fields int
			for _, c := range h.sent(k, n0) {
				if c.Msg.Field != nil {
					fields++
				}
			}
			if fields != 1 {
				t.Fatalf("the start posted %d email fields, want 1", fields)
			}
			h.final()
			h.close()
		})
	}
}

// Defect 2: a resolution that leaves the mode unchanged (auto mode: the "That answers my question"
// button, the model's resolve, an operator resolving an active conversation) keeps the old
// transcript, so a later handover note says "Visitor wants: <the resolved question>". Shrunk case:
// a question, the conversation resolved, then "talk to a human".
func TestResolutionStartsAFreshWindow(t *testing.T) {
	site := siteSpec{ID: "w", Start: signals.StartAuto, Via: "rtm", OfferHuman: 1}
	resolutions := map[string]func(h *harness, k bridge.Key){
		"operator resolves": func(h *harness, k bridge.Key) { h.setState(k, "resolved") },
		"resolved button": func(h *harness, k bridge.Key) {
			h.click(k, bridge.PickerAnswer, bridge.ChoiceResolve)
			h.echoState(k)
		},
		"model resolves": func(h *harness, k bridge.Key) {
			h.visitorText(k, "great, thanks!")
			h.release(h.pending(k), "answer+resolve")
			h.echoState(k)
		},
	}
	for name, resolve := range resolutions {
		t.Run(name, func(t *testing.T) {
			h, k := regress(t, site)
			h.visitorText(k, "q0001")
			h.release(h.pending(k), "answer")
			resolve(h, k)
			n0 := h.plat.ncalls()
			h.click(k, bridge.PickerAnswer, bridge.ChoiceHuman)
			for _, c := range h.sent(k, n0) {
				if c.Msg.Type == "note" && strings.Contains(c.Msg.Text, "q0001") {
					t.Fatalf("the handover note after the resolution still cites the resolved question:\n%s", c.Msg.Text)
				}
			}
			h.final()
			h.close()
		})
	}
}

// Defect 3: a resolution while an answer is being written cancels the generation but leaves the
// answer owed (ReplyDue), so after a restart the old answer is posted into the resolved
// conversation. Shrunk case: a question, the operator resolves, a restart, the model answers.
func TestResolveWhileAnsweringOwesNothing(t *testing.T) {
	h, k := regress(t, siteSpec{ID: "w", Start: signals.StartAuto, Via: "rtm"})
	h.visitorText(k, "q0001")
	h.setState(k, "resolved") // before the fix: [owed] ReplyDue stayed set, no answer being written
	h.restart()
	n0 := h.plat.ncalls()
	if live := h.asst.live(); len(live) > 0 {
		h.release(live[0], "answer")
	}
	for _, c := range h.sent(k, n0) {
		if h.plat.isAnswer(c.Msg) {
			t.Fatalf("after the restart the answer to the resolved question was posted: %s", c)
		}
	}
	h.final()
	h.close()
}

// Defect 4: after a pause, a start leaves the pause's write-back keys (enum_reason, enum_at,
// enum_state) in the session data, so a scenario branching on them sees a pause that is over.
// Shrunk cases: "talk to a human" then a data start; a data pause then a page start.
func TestWriteBackKeysTellTheTruthAfterAStart(t *testing.T) {
	site := siteSpec{ID: "w", Start: signals.StartAuto, Via: "hooks"}
	cases := map[string]func(h *harness, k bridge.Key){
		"pause then page start": func(h *harness, k bridge.Key) {
			h.dataWrite(k, map[string]string{"enum": "pause_chatbot"}, false, false)
			h.dataWrite(k, map[string]string{"enum": "start_chatbot#n1"}, false, false)
		},
		"pause then dummy then admin start": func(h *harness, k bridge.Key) {
			h.dataWrite(k, map[string]string{"enum": "pause_chatbot"}, false, false)
			h.dataWrite(k, map[string]string{"enum": "0"}, false, false)
			h.control(k, bridge.ControlStart)
		},
		"handover then data start": func(h *harness, k bridge.Key) {
			h.click(k, bridge.PickerAnswer, bridge.ChoiceHuman)
			h.dataWrite(k, map[string]string{"enum": "start_chatbot"}, false, false)
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			h, k := regress(t, site)
			h.visitorText(k, "q0001")
			h.release(h.pending(k), "answer")
			run(h, k) // the harness checks enum_reason / enum_state against the mode after each step
			h.final()
			h.close()
		})
	}
}

// Defect 5: after a handover with nobody online the visitor leaves an email; the "we will reply by
// email" message turns the conversation unresolved, off the top of the human inbox. Shrunk case:
// a start, an admin handover, the email field filled.
func TestHandoverStaysPendingAfterTheEmail(t *testing.T) {
	h, k := regress(t, siteSpec{ID: "w", Start: signals.StartAuto, Via: "rtm", AskEmail: true})
	h.availability(false)
	h.visitorText(k, "q0001")
	h.click(k, bridge.PickerAnswer, bridge.ChoiceHuman)
	h.field(k, bridge.FieldEmail, "visitor@example.com")
	if st := h.plat.crisp(k).state; st != "pending" {
		t.Fatalf("after the email the conversation is %q, want pending", st)
	}
	h.final()
	h.close()
}

// Defect 4, found again after the first fixes: enum_state follows the mode only while a pause of
// ours stands (the write on a return to the assistant is skipped otherwise), so once it says
// waiting or active, later changes between waiting and active leave it stale. Shrunk cases
// (start mode wait_for_signal): an operator message, the resume timer, the conversation resolved
// (enum_state stays active in waiting); a data pause, a resolution, an admin start (enum_state
// stays waiting in active).
func TestEnumStateFollowsWaitingAndActive(t *testing.T) {
	site := siteSpec{ID: "w", Start: signals.StartWaitForSignal, Via: "rtm", ResumeAfter: 10 * time.Minute}
	cases := map[string]func(h *harness, k bridge.Key){
		"resume then resolution": func(h *harness, k bridge.Key) {
			h.operatorText(k, "o0001")
			h.advance(11 * time.Minute)
			h.sweep()
			h.setState(k, "resolved")
		},
		"resolution then start": func(h *harness, k bridge.Key) {
			h.dataWrite(k, map[string]string{"enum": "pause_chatbot"}, false, false)
			h.setState(k, "resolved")
			h.control(k, bridge.ControlStart)
		},
	}
	for name, run := range cases {
		t.Run(name, func(t *testing.T) {
			h, k := regress(t, site)
			run(h, k) // the harness checks enum_state against the mode after each step
			c := h.snapshot()[k]
			if got := h.plat.crisp(k).data["enum_state"]; got != "" && got != string(c.Mode) {
				t.Fatalf("enum_state=%q, the mode is %s", got, c.Mode)
			}
			h.final()
			h.close()
		})
	}
}

// Found by the soak after issue 19 ("no commit for an event that changes nothing"): a step's field
// filled while a human owned the conversation was not marked processed, so its hook retry, after an
// admin resume restarted the steps, was taken as the answer ("That does not look like an email
// address"). A message event with an id of its own is marked processed even when it changes nothing.
func TestRetryOfAnIgnoredStepAnswerStaysQuiet(t *testing.T) {
	h, k := regress(t, siteSpec{ID: "w", Start: signals.StartWaitForSignal, Steps: true, Via: "hooks"},
		siteSpec{ID: "w1", Start: signals.StartAuto, Via: "rtm"})
	h.click(k, bridge.PickerAnswer, bridge.ChoiceHuman)
	h.visitorText(k, "not-an-email-0001")
	h.field(k, "sb-step-ask_email", "nope")
	h.control(k, bridge.ControlResume)
	from := h.plat.ncalls()
	h.redeliver(k) // the hook retry of the field's message:updated; the harness checks it is quiet
	if got := h.sent(k, from); len(got) != 0 {
		t.Fatalf("the retry posted %d messages: %v", len(got), got)
	}
}
