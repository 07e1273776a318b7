// Package scenario runs the guided steps a website shows before its AI assistant takes over: ask the
// visitor's email with a field, ask the language with a picker, set session data, branch on what is
// known, then hand the conversation to the assistant (or to a human).
//
// The steps are a small graph written in YAML, one per website. [Parse] reads it into a [Graph];
// [Compile] validates it at start-up (every problem is reported at once, each naming its block) and
// linearizes it into a flat vector, [Program.Blocks], where every successor is an integer index. A
// conversation stores only a [Cursor], an int, and resuming it costs the same whatever the size of
// the scenario.
//
// # Format
//
//	start: ask_email            # id of the first block
//	languages: [en, es]         # the first language is the fallback
//	blocks:                     # a list of blocks with an id, or a map from id to block
//	  - id: ask_email
//	    kind: field             # validate: email | phone | text; store: email | language | data:<key>
//	    skip_if: {email_known: true}
//	    text: {en: "What is your email?", es: "¿Cuál es tu email?"}
//	    explain: {en: "you@example.com", es: "tu@ejemplo.com"}
//	    validate: email
//	    store: email
//	    invalid: {en: "That email looks wrong.", es: "Ese email no parece válido."}
//	    next: ask_language
//	  - id: ask_language
//	    kind: picker
//	    text: {en: "Which language?", es: "¿Qué idioma?"}
//	    store: [language, data:language]
//	    choices:
//	      - {value: en, label: English}          # a plain string is the same in every language
//	      - {value: es, label: Español, next: hola}
//	    next: ready                              # successor of choices without their own next
//	  - {id: hola, kind: message, text: "¡Hola!", next: ready}
//	  - id: ready
//	    kind: branch
//	    cases:
//	      - when: {segment: [vip]}               # all conditions of one case must hold
//	        next: human
//	    else: ai                                 # required; the first matching case wins
//	  - {id: ai, kind: assistant}
//	  - {id: human, kind: handover}
//
// Kinds: message (text, next), picker (text, choices, store, next), field (text, explain, validate,
// store, invalid, next), set_data (data, next), segment (segments, next), branch (cases, else),
// webhook (webhook, next, branches, failed: see [WebhookResult]), and the terminals assistant,
// handover, resolve and end. Pickers and fields wait for the visitor; they
// may carry skip_if, a condition under which they are passed over to their next block. Conditions
// (in skip_if and branch cases) combine, all of which must hold: data (key: value equality), has
// (keys with a value), missing (keys without one), segment (all listed segments present), language
// (any listed language), email_known (true or false) and open (true within the website's support
// hours, false outside them; a website without support hours is always open).
//
// Text may be a plain string (every language) or a map with one entry per configured language.
//
// # Runtime
//
// [Program.Run] is pure: given the stored cursor, an [Input] and a read-only [Context] it returns
// the new cursor and the [Step]s the bridge must perform, in order. Automatic blocks run through until
// a picker or field waits for the visitor, or a terminal block ends the guided steps ([Done]).
//
// A cursor is the block index stamped with a hash of the block's id and kind, so that a cursor stored
// before the scenario was edited follows its block if it moved, and is recognised as stale if the
// block is gone, instead of silently pointing at another block; a stale cursor restarts at the start
// with a [StepRestarted] step for the bridge to log. The zero cursor is [NotStarted], -1 is [Done].
//
// Pickers and fields are sent with the id [StepIDPrefix] + block id, so the bridge recognises a
// picker click or field answer as belonging to the guided steps with [IsStepID].
package scenario
