package signals

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"
)

// Crisp conversation states the machine reads.
const (
	CrispPending    = "pending"
	CrispUnresolved = "unresolved"
	CrispResolved   = "resolved"
)

// Keys of the localized strings ActNotify refers to.
const (
	TextApology = "apology" // the model kept failing; a human will take over
	TextClosing = "closing" // the visitor said the question is resolved
)

// DefaultConfig returns the default policy: the default vocabulary, start mode auto, a human
// operator's message pauses the assistant, segments "ai-handover" and "ended-by-ai".
func DefaultConfig() Config {
	return Config{
		Vocabulary:      DefaultVocabulary(),
		StartMode:       StartAuto,
		PauseOnOperator: true,
		HandoverSegment: "ai-handover",
		ResolvedSegment: "ended-by-ai",
	}
}

// Validate reports the problems of the policy, its vocabulary included.
func (c Config) Validate() error {
	var errs []error
	if err := c.Vocabulary.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch c.StartMode {
	case StartAuto, StartWaitForSignal:
	default:
		errs = append(errs, fmt.Errorf("start mode %q is not %q or %q", c.StartMode, StartAuto, StartWaitForSignal))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("signals config: %w", err)
	}
	return nil
}

// initialMode is the mode of new and resolved conversations.
func (c Config) initialMode() Mode {
	if c.StartMode == StartWaitForSignal {
		return ModeWaiting
	}
	return ModeActive
}

// Initial returns the state of a new conversation first seen at Unix ms at: Active for start mode
// auto, Waiting for wait_for_signal, Reason start, maps allocated.
func (c Config) Initial(at int64) State {
	return State{
		Mode:    c.initialMode(),
		Reason:  ReasonStart,
		Since:   at,
		Last:    map[string]string{},
		Written: map[string]string{},
	}
}

// Step decides what a conversation in state s does with input in. It is pure and never mutates the
// maps of s: a map it changes is copied first (copy on write), so Result.State may share unchanged
// maps with s; callers must treat both as read-only or clone them. Every transition sets Since,
// increments Transitions, resets Answers and fills Result.Transition; every action carries the
// reason and source of the decision that caused it.
func (c Config) Step(s State, in Input) Result {
	st := stepper{c: c, r: Result{State: s}, in: in}
	switch in.Kind {
	case InputData:
		st.data()
	case InputButton:
		st.button()
	case InputStart:
		st.start(st.source(SourceAPI))
	case InputPause:
		st.pause(reasonOr(in.Reason, ReasonSignal), st.source(SourceAPI))
	case InputVisitorMessage:
		st.visitorMessage()
	case InputOperatorMessage:
		st.operatorMessage()
	case InputHandover:
		st.handover(reasonOr(in.Reason, ReasonHuman), st.source(SourceVisitor))
	case InputBudgetExhausted:
		st.handover(reasonOr(in.Reason, ReasonBudget), st.source(SourceAssistant))
	case InputModelFailed:
		st.handover(reasonOr(in.Reason, ReasonError), st.source(SourceAssistant))
	case InputResolveRequest:
		st.resolveRequest()
	case InputStateChanged:
		st.stateChanged()
	case InputAnswered:
		st.r.State.Answers++
		st.answered()
	default:
		st.r.Note = fmt.Sprintf("unknown input kind %q", in.Kind)
	}
	return st.r
}

// stepper carries one Step's work in progress.
type stepper struct {
	c  Config
	r  Result
	in Input
	// lastCopied and writtenCopied tell whether r.State's maps are already private copies.
	lastCopied, writtenCopied bool
}

func reasonOr(r, def Reason) Reason {
	if r == "" {
		return def
	}
	return r
}

// source returns the input's source, or def when the caller gave none.
func (st *stepper) source(def Source) Source {
	if st.in.Source == "" {
		return def
	}
	return st.in.Source
}

func (st *stepper) setLast(k, v string) {
	if !st.lastCopied {
		st.r.State.Last = cloneMap(st.r.State.Last, 4)
		st.lastCopied = true
	}
	st.r.State.Last[k] = v
}

// echoWindow bounds how long an echo marker is trusted: past it the write was skipped or its echo
// lost, and the value is a signal again.
const echoWindow = 2 * time.Minute

// EchoKey is the key under which State.Written remembers a signal value one of our data writes
// carries unchanged (value: Unix ms of the decision), so its echo is not taken for a new signal.
func EchoKey(value string) string { return "\x00echo\x00" + value }

func (st *stepper) deleteWritten(k string) {
	if !st.writtenCopied {
		st.r.State.Written = cloneMap(st.r.State.Written, 0)
		st.writtenCopied = true
	}
	delete(st.r.State.Written, k)
}

func (st *stepper) setWritten(k, v string) {
	if !st.writtenCopied {
		st.r.State.Written = cloneMap(st.r.State.Written, 4)
		st.writtenCopied = true
	}
	st.r.State.Written[k] = v
}

func cloneMap(m map[string]string, extra int) map[string]string {
	out := make(map[string]string, len(m)+extra)
	maps.Copy(out, m)
	return out
}

// transition moves to mode to and records it.
func (st *stepper) transition(to Mode, reason Reason, src Source) {
	s := &st.r.State
	st.r.Transition = &Transition{From: s.Mode, To: to, Reason: reason, Source: src, At: st.in.At, Detail: st.in.Detail}
	s.Mode, s.Reason, s.Since, s.Answers = to, reason, st.in.At, 0
	s.Transitions++
}

func (st *stepper) act(a Action, reason Reason, src Source) {
	a.Reason, a.Source = reason, src
	st.r.Actions = append(st.r.Actions, a)
}

// writeBack adds the write-back action and remembers what we write, so its echo is recognised. Its
// time is that of the stop (State.Since), however late the write is made again.
func (st *stepper) writeBack(reason Reason, src Source) {
	key := st.c.Vocabulary.Key
	expect := map[string]string{key: st.r.State.Last[key]}
	data := st.c.Vocabulary.WriteBack(reason, st.r.State.Since)
	for k, v := range data {
		st.setWritten(k, v)
		st.setLast(k, v)
	}
	st.act(Action{Kind: ActWriteBack, Data: data, Expect: expect}, reason, src)
}

func (st *stepper) data() {
	key := st.c.Vocabulary.Key
	v, ok := st.in.Data[key]
	if !ok {
		st.r.Note = fmt.Sprintf("no %q in the data", key)
		return
	}
	if at, ok := st.r.State.Written[EchoKey(v)]; ok {
		// A data write of ours carried the signal key as it was when we decided (Crisp may replace
		// the whole map): its echo is not a signal, even if a newer value arrived in between.
		st.deleteWritten(EchoKey(v))
		if n, err := strconv.ParseInt(at, 10, 64); err == nil && st.in.At-n <= echoWindow.Milliseconds() {
			if last := st.r.State.Last[key]; last != v {
				st.setLast(key, v)
				st.r.Note = "late echo of our data write"
				// Crisp now holds the old value again: tell the scenario the truth once more.
				if m := st.r.State.Mode; m == ModePaused || m == ModeHuman {
					st.writeBack(st.r.State.Reason, SourceAssistant)
				}
				return
			}
		}
	}
	if last, had := st.r.State.Last[key]; had && last == v {
		st.r.Note = "same value"
		return
	}
	st.setLast(key, v)
	p := st.c.Vocabulary.Parse(v)
	if p.Ours || (st.r.State.Written[key] == v && v != "") {
		st.r.Note = "our echo"
		return
	}
	if p.Command == CmdNone {
		st.r.Unknown = []string{v}
		st.r.Note = fmt.Sprintf("%q is not a command: remembered only", v)
		return
	}
	src := st.in.Source
	switch {
	case p.Nonce != "" && (src == "" || src == SourceData):
		src = SourcePage
	case src == "":
		src = SourceData
	}
	switch {
	case p.Command == CmdStart:
		if len(st.c.StartSecret) > 0 && Untrusted(src) && !st.signed(p, src) {
			st.restateRefused(src)
			return
		}
		st.start(src)
		st.restateRefused(src)
	case st.r.State.Mode == ModePaused || st.r.State.Mode == ModeHuman:
		st.restate(src)
	default:
		st.pause(ReasonSignal, src)
	}
}

// restate answers a pause written while the assistant is already stopped (a second click on the
// page's Pause, a scenario pausing again). The mode, the epoch and what was decided stay as they
// are, but the pause value has replaced our write-back in the signal key: the write-back of the
// current stop is made again, so the key tells a scenario why the assistant stopped. A start
// written while the assistant is active needs no such write: the start value is what a start
// leaves in the key.
//
// From an untrusted source each restate spends a token of its own bucket (LimitRestates, at the
// rate of Limits.Edges, so repeated pauses never take the tokens starts need); with none left the
// key keeps the pause value (it still says paused) and the input is counted as limited, so a page
// clicking Pause in a loop costs no Crisp calls past the burst.
func (st *stepper) restate(src Source) {
	s := st.r.State
	if Untrusted(src) && !st.take(LimitRestates, st.c.Limits.Edges, false) {
		st.r.Limited = LimitRestates
		st.r.Note = fmt.Sprintf("already %s (%s); write-back not restated: rate limited: %s", s.Mode, s.Reason, st.c.Limits.Edges)
		return
	}
	st.r.Note = fmt.Sprintf("already %s (%s): write-back restated", s.Mode, s.Reason)
	st.writeBack(s.Reason, src)
}

// restateRefused follows a start written into the signal key that was not applied (a human owns
// the conversation, past the edge limit, unsigned where starts must be signed): while the
// assistant stays stopped, the start value has replaced our write-back in the key, and the
// write-back of the current stop is made again as for a repeated pause (restate, with its limit),
// so a scenario branching on the key is not told the assistant started. The refusal's note and
// limit are kept.
func (st *stepper) restateRefused(src Source) {
	if m := st.r.State.Mode; m != ModePaused && m != ModeHuman {
		return
	}
	note, limited := st.r.Note, st.r.Limited
	st.restate(src)
	if note != "" {
		st.r.Note = note + "; " + st.r.Note
	}
	if limited != "" {
		st.r.Limited = limited
	}
}

// signed verifies a start from an untrusted source on a website that requires signed starts. A
// valid one remembers its exp (replays are refused); anything else is a refused start.
func (st *stepper) signed(p Parsed, src Source) bool {
	ek := SignedExpKey(st.c.Vocabulary.Key)
	last, _ := strconv.ParseInt(st.r.State.Last[ek], 10, 64)
	now := max(st.in.At, st.in.Now)
	exp, err := VerifyStartUntil(st.c.StartSecret, st.in.WebsiteID, st.in.SessionID, p.Nonce, now, last, st.c.LegacyStartUntil)
	if err != nil {
		st.refuse(src, err.Error())
		return false
	}
	st.setLast(ek, strconv.FormatInt(exp, 10))
	return true
}

func (st *stepper) button() {
	src := st.source(SourceButton)
	switch st.c.Vocabulary.ParseButton(st.in.Value) {
	case CmdStart:
		if st.r.State.Mode != ModeActive && len(st.c.StartSecret) > 0 && Untrusted(src) && !st.c.StartButtonUnsigned {
			st.refuse(src, "the website requires signed starts: its start button is off")
			return
		}
		st.start(src)
	case CmdPause:
		st.pause(ReasonSignal, src)
	default:
		st.r.Note = fmt.Sprintf("button %q is not a signal", st.in.Value)
	}
}

func (st *stepper) start(src Source) {
	s := st.r.State
	if s.Mode == ModeActive {
		st.r.Note = "already active"
		return
	}
	if HumanOwned(s) && Untrusted(src) && !st.c.UntrustedStartOverridesHuman {
		st.refuse(src, fmt.Sprintf("the conversation is %s (%s)", s.Mode, s.Reason))
		return
	}
	if Untrusted(src) && !st.take(LimitEdges, st.c.Limits.Edges, false) {
		st.limitedEdge(src)
		return
	}
	st.transition(ModeActive, ReasonSignal, src)
	st.act(Action{Kind: ActRunScenario}, ReasonSignal, src)
}

// refuse records a start from src that is not applied, and why.
func (st *stepper) refuse(src Source, why string) {
	s := st.r.State
	st.r.Refused = &Transition{From: s.Mode, To: ModeActive, Reason: ReasonSignal, Source: src, At: st.in.At, Detail: st.in.Detail}
	st.r.Note = fmt.Sprintf("start from %s refused: %s", src, why)
}

// HumanOwned reports whether a human owns the conversation: handed over, or paused for a person
// (by an operator, or with reason human, budget or error: an API or scenario pause that asks for a
// human is not the visitor's to undo).
func HumanOwned(s State) bool {
	if s.Mode == ModeHuman {
		return true
	}
	if s.Mode != ModePaused {
		return false
	}
	switch s.Reason {
	case ReasonOperator, ReasonHuman, ReasonBudget, ReasonError:
		return true
	}
	return false
}

// Untrusted reports whether src is writable by anyone on the page: session data, a page value, a
// picker button.
func Untrusted(src Source) bool {
	switch src {
	case SourceData, SourcePage, SourceButton:
		return true
	}
	return false
}

func (st *stepper) pause(reason Reason, src Source) {
	switch st.r.State.Mode {
	case ModeActive, ModeWaiting:
	default:
		st.r.Note = fmt.Sprintf("already %s", st.r.State.Mode)
		return
	}
	if Untrusted(src) {
		// Applied even past the limit (it moves towards a person), but it spends the token the
		// next start needs.
		st.take(LimitEdges, st.c.Limits.Edges, true)
	}
	st.transition(ModePaused, reason, src)
	st.act(Action{Kind: ActCancel}, reason, src)
	st.act(Action{Kind: ActStopTyping}, reason, src)
	st.writeBack(reason, src)
}

func (st *stepper) visitorMessage() {
	s := st.r.State
	if s.Mode != ModeActive {
		st.r.Note = fmt.Sprintf("assistant is %s (%s): no reply", s.Mode, s.Reason)
		return
	}
	if st.capReached() {
		st.in.Detail = fmt.Sprintf("message cap: %d answers a day in this conversation", st.c.Limits.MaxAnswers)
		st.handover(ReasonBudget, SourceAssistant)
		return
	}
	if !st.take(LimitAnswers, st.c.Limits.Answers, false) {
		st.r.Note = "rate limited: answers " + st.c.Limits.Answers.String()
		st.r.Limited = LimitAnswers
		return
	}
	st.act(Action{Kind: ActReply}, s.Reason, st.source(SourceVisitor))
}

func (st *stepper) operatorMessage() {
	if !st.c.PauseOnOperator {
		st.r.Note = "operator messages do not pause the assistant"
		return
	}
	switch st.r.State.Mode {
	case ModeActive, ModeWaiting:
		st.pause(ReasonOperator, st.source(SourceOperator))
	case ModeHuman:
		st.r.Note = "handed over: the human answering is expected"
	default:
		st.r.Note = "already paused"
	}
}

func (st *stepper) handover(reason Reason, src Source) {
	if st.r.State.Mode == ModeHuman {
		st.r.Note = "already handed over"
		return
	}
	st.transition(ModeHuman, reason, src)
	st.r.State.HandoverAt = st.in.At
	st.act(Action{Kind: ActCancel}, reason, src)
	st.act(Action{Kind: ActStopTyping}, reason, src)
	if reason == ReasonError {
		st.act(Action{Kind: ActNotify, Text: TextApology}, reason, src)
	}
	st.writeBack(reason, src)
	st.act(Action{Kind: ActSetState, State: CrispPending}, reason, src)
	if st.c.HandoverSegment != "" {
		st.act(Action{Kind: ActAddSegment, Segment: st.c.HandoverSegment}, reason, src)
	}
	st.act(Action{Kind: ActPostNote}, reason, src)
	st.act(Action{Kind: ActOfferHuman}, reason, src)
}

func (st *stepper) resolveRequest() {
	if st.r.State.Mode != ModeActive {
		st.r.Note = fmt.Sprintf("assistant is %s: resolve request ignored", st.r.State.Mode)
		return
	}
	src := st.source(SourceVisitor)
	// An answer still being written is about the resolved question: it is not posted.
	st.act(Action{Kind: ActCancel}, ReasonResolved, src)
	st.act(Action{Kind: ActStopTyping}, ReasonResolved, src)
	st.act(Action{Kind: ActNotify, Text: TextClosing}, ReasonResolved, src)
	if st.c.ResolvedSegment != "" {
		st.act(Action{Kind: ActAddSegment, Segment: st.c.ResolvedSegment}, ReasonResolved, src)
	}
	st.act(Action{Kind: ActSetState, State: CrispResolved}, ReasonResolved, src)
}

// stateChanged follows the Crisp conversation state; resolution hands the conversation back to the
// bot in its initial mode. When it is already in that mode only Answers is reset (no transition).
func (st *stepper) stateChanged() {
	prev := st.r.State.CrispState
	st.r.State.CrispState = st.in.Value
	if st.in.Value != CrispResolved {
		st.r.Note = fmt.Sprintf("state %q: nothing to do", st.in.Value)
		return
	}
	if prev == CrispResolved {
		st.r.Note = "already resolved"
		return
	}
	src := st.source(SourceResolution)
	if to := st.c.initialMode(); st.r.State.Mode != to {
		st.transition(to, ReasonResolved, src)
	} else {
		st.r.State.Answers = 0
		st.r.Note = fmt.Sprintf("resolved: already %s", to)
	}
	st.act(Action{Kind: ActCancel}, ReasonResolved, src)
	st.act(Action{Kind: ActStopTyping}, ReasonResolved, src)
}
