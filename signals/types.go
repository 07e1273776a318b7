// Package signals holds the vocabulary of the per-conversation AI control signals and the pure state
// machine that decides what a conversation does with each input. It uses the standard library only:
// no I/O, no clocks (times come in with the inputs), so every transition can be table-tested.
package signals

// Mode is where a conversation stands with respect to the assistant.
type Mode string

// The modes of a conversation.
const (
	ModeWaiting Mode = "waiting" // the assistant is silent until a start signal (start mode wait_for_signal)
	ModeActive  Mode = "active"  // the assistant answers visitor messages
	ModePaused  Mode = "paused"  // stopped by a signal, an operator or the API; Reason says which
	ModeHuman   Mode = "human"   // handed over to a human; Reason says why (human, budget, error)
)

// StartMode is a website's mode for new and resolved conversations.
type StartMode string

// Start modes.
const (
	StartAuto          StartMode = "auto"            // the assistant answers from the first message
	StartWaitForSignal StartMode = "wait_for_signal" // the assistant waits for a start signal
)

// Reason says why a transition happened; pause reasons are also written back (chatbot_paused:<reason>).
type Reason string

// Reasons.
const (
	ReasonHuman    Reason = "human"    // the visitor, the model or the API asked for a human
	ReasonSignal   Reason = "signal"   // a pause/start signal (data, button, page, api)
	ReasonOperator Reason = "operator" // a human operator wrote in the conversation
	ReasonBudget   Reason = "budget"   // a token budget ran out
	ReasonError    Reason = "error"    // the model kept failing
	ReasonResolved Reason = "resolved" // the conversation was resolved
	ReasonStart    Reason = "start"    // initial mode of a new conversation
)

// Source says where an input came from; every audit entry carries one.
type Source string

// Sources.
const (
	SourceData       Source = "data"       // session data written by a Crisp Bot scenario or REST
	SourceButton     Source = "button"     // a picker button whose id is a signal
	SourcePage       Source = "page"       // website code (the nonce-suffixed form our snippet writes)
	SourceAPI        Source = "api"        // the admin API
	SourceOperator   Source = "operator"   // a human operator's message
	SourceResolution Source = "resolution" // the conversation state became resolved
	SourceVisitor    Source = "visitor"    // the visitor (message, "talk to a human" click, phrases)
	SourceAssistant  Source = "assistant"  // the model (tool call) or the reply policy (budget, errors)
	SourceTimer      Source = "timer"      // a time-based policy (resume after N minutes)
)

// Command is what a signal value asks for.
type Command string

// Commands.
const (
	CmdNone  Command = ""      // not a command (dummy values, unknown values, our write-backs)
	CmdStart Command = "start" // switch the assistant on
	CmdPause Command = "pause" // switch the assistant off
)

// Vocabulary is the configurable signal contract of one website. The zero value is not usable; start
// from DefaultVocabulary.
type Vocabulary struct {
	Key          string // custom data key carrying signals: "enum"
	Start        string // "start_chatbot"
	Pause        string // "pause_chatbot"
	StartButton  string // picker choice value that starts: "enum:start_chatbot"
	PauseButton  string // picker choice value that pauses: "enum:pause_chatbot"
	PausedPrefix string // write-back prefix: "chatbot_paused" -> "chatbot_paused:human"
	NonceSep     string // separator of the nonce-suffixed form: "#" -> "start_chatbot#k3v9"
	ReasonKey    string // extra write-back key with the bare reason: "enum_reason"
	AtKey        string // extra write-back key with the RFC 3339 time: "enum_at"
	// StateKey is the extra write-back key with the assistant's current mode ("enum_state":
	// active, waiting, paused or human), written with every write-back and whenever the assistant
	// comes back after one, so a page or scenario can read the truth.
	StateKey string
}

// Parsed is the reading of one signal value.
type Parsed struct {
	Raw     string
	Command Command
	Nonce   string // set for the nonce-suffixed form; such a value is always a new edge
	Ours    bool   // a write-back value (chatbot_paused:<reason>)
	Known   bool   // a command or one of our write-backs; false for dummies and unknown values
}

// Config is the per-website policy of the state machine.
type Config struct {
	Vocabulary      Vocabulary
	StartMode       StartMode
	PauseOnOperator bool   // a human operator's message pauses the assistant (default true)
	HandoverSegment string // segment added on handover ("" = none)
	ResolvedSegment string // segment added when the visitor says the question is resolved ("" = none)
	// UntrustedStartOverridesHuman lets a start from session data, a page value or a picker button
	// take the conversation back from a human (mode human, or paused by an operator). Off by
	// default: anyone on the page can write those, so only the trusted paths (an operator's note,
	// the admin API, a resolution, the resume timer) give such a conversation back.
	UntrustedStartOverridesHuman bool
	// StartSecret, when set, makes a start from session data or the page valid only in the signed
	// form made by the website's backend (see SignStart); other starts from those sources are
	// refused. The trusted paths are not affected; a picker button starts only with
	// StartButtonUnsigned (anyone can select a button a scenario shows).
	StartSecret []byte
	// StartButtonUnsigned lets the start button start a website that requires signed starts. Off
	// by default: the button would be an unsigned way round the signature.
	StartButtonUnsigned bool
	// LegacyStartUntil (Unix ms) is the end of the grace period of version 1 signed starts (see
	// SignStartV1): before it they are accepted, after it refused. 0 never accepts them.
	LegacyStartUntil int64
	// Limits bound what a visitor can make one conversation do (signal edges, answers).
	Limits Limits
}

// State is the durable per-conversation state the machine reads and writes. Times are Unix ms.
type State struct {
	Mode       Mode
	Reason     Reason
	Since      int64             // when Mode was entered
	Last       map[string]string // last value seen per signal key (edge detection)
	Written    map[string]string // values we wrote ourselves, so their echo is recognised
	CrispState string            // last conversation state seen: pending, unresolved, resolved
	HandoverAt int64             // last handover time (loop protection)
	Answers    int               // assistant answers since the mode was last entered
	// Transitions is the number of transitions so far. The bridge also counts its refused starts
	// here: stores number the audit entries by it.
	Transitions int
}

// InputKind is the kind of an input to the machine.
type InputKind string

// Input kinds.
const (
	InputData            InputKind = "data"             // session data (Data holds the delivered map)
	InputButton          InputKind = "button"           // a picker choice was selected (Value holds its value)
	InputStart           InputKind = "start"            // explicit start (API, resume)
	InputPause           InputKind = "pause"            // explicit pause (API); Reason may be set
	InputVisitorMessage  InputKind = "visitor_message"  // a visitor wrote
	InputOperatorMessage InputKind = "operator_message" // a human operator wrote (not us, not Crisp's bot)
	InputHandover        InputKind = "handover"         // handover requested (visitor, model, phrases, API)
	InputResolveRequest  InputKind = "resolve_request"  // the visitor says the question is resolved
	InputStateChanged    InputKind = "state_changed"    // Crisp conversation state changed (Value holds it)
	InputBudgetExhausted InputKind = "budget_exhausted" // a token budget ran out
	InputModelFailed     InputKind = "model_failed"     // the model failed after its retry
	InputAnswered        InputKind = "answered"         // the assistant posted an answer
)

// Input is one thing that happened to a conversation.
type Input struct {
	Kind   InputKind
	Source Source
	At     int64             // Unix ms
	Data   map[string]string // InputData
	Value  string            // InputButton: choice value; InputStateChanged: the new state
	Reason Reason            // InputPause / InputHandover: why (defaults: signal / human)
	Detail string            // free text for the audit trail (e.g. the model's handover reason)
	// WebsiteID and SessionID name the conversation (InputData): signed starts are bound to them.
	WebsiteID, SessionID string
	// Now is the wall clock when the input is processed (Unix ms, 0 = At). At may be older (an
	// event caught up after a gap carries the gap's start); a signed start's expiry is checked
	// against the later of the two, so catching up never revives an expired value.
	Now int64
}

// ActionKind is the kind of an action the bridge performs after persisting the new state.
type ActionKind string

// Action kinds, performed in the order the machine returns them.
const (
	ActCancel      ActionKind = "cancel"       // cancel an in-flight generation for this conversation
	ActReply       ActionKind = "reply"        // generate and post an assistant answer
	ActWriteBack   ActionKind = "write_back"   // merge Data into the conversation's session data
	ActSetState    ActionKind = "set_state"    // set the Crisp conversation state to State
	ActAddSegment  ActionKind = "add_segment"  // add Segment to the conversation
	ActPostNote    ActionKind = "post_note"    // post the private handover note for operators (summary, mentions)
	ActNotify      ActionKind = "notify"       // tell the visitor something: Text is a string key (apology, closing)
	ActOfferHuman  ActionKind = "availability" // check availability; when nobody is online tell the visitor and ask the email
	ActStopTyping  ActionKind = "stop_typing"  // make sure the typing indicator is off
	ActRunScenario ActionKind = "run_scenario" // run or resume the guided steps before the assistant
)

// Action is one thing to do, with the reason and source of the transition that caused it.
type Action struct {
	Kind ActionKind
	Data map[string]string // ActWriteBack
	// Expect (ActWriteBack) is the value the signal key had when the machine decided: write only if
	// Crisp still has it, so a newer signal written meanwhile is not overwritten.
	Expect  map[string]string
	State   string // ActSetState
	Segment string // ActAddSegment
	Text    string // ActNotify: key into the localized strings ("apology", "closing", ...)
	Reason  Reason
	Source  Source
}

// Transition records a change of mode.
type Transition struct {
	From, To Mode
	Reason   Reason
	Source   Source
	At       int64
	Detail   string
}

// Result is what Step decided.
type Result struct {
	State      State
	Actions    []Action
	Transition *Transition // nil when the mode did not change
	// Refused is a start from an untrusted source (data, page, button) that was refused: it tried to
	// take the conversation from a human, it was not signed where signatures are required, or it
	// was the first past the edge rate (see Limits). The state is unchanged but for the remembered
	// value and the limits' counters.
	Refused *Transition
	// Limited names the limit (LimitEdges, LimitAnswers) that stopped the input, "" when none did.
	Limited string
	Note    string   // why nothing happened, or what was noticed (unknown value, echo, same value)
	Unknown []string // signal values that were not commands and not ours
}
