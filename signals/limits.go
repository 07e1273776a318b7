package signals

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a token bucket: Burst tokens at most, one more every Every milliseconds. The zero value
// means no limit.
type Rate struct {
	Burst int
	Every int64 // ms per token
}

// On reports whether the rate limits anything.
func (r Rate) On() bool { return r.Burst > 0 && r.Every > 0 }

// String renders the rate for notes and logs: "4, then 1 per 30s".
func (r Rate) String() string {
	if !r.On() {
		return "unlimited"
	}
	return fmt.Sprintf("%d, then 1 per %ds", r.Burst, r.Every/1000)
}

// Limits bound what a visitor can make one conversation do. They are kept in the conversation's
// own state (State.Written, under LimitKey keys), so they are durable, shared by replicas and
// decided in the pure machine like everything else. The zero value limits nothing.
type Limits struct {
	// Edges bounds the signal edges from untrusted sources (session data, the page, picker buttons)
	// that change the mode. A start past the limit is refused (audited, counted); a pause past it is
	// still applied (it moves towards a person) but leaves no token for the next start, so a
	// conversation toggled in a loop settles paused and costs no Crisp calls after the burst.
	//
	// A pause written while the assistant is already stopped changes no mode, but its write-back is
	// made again (the restate): those writes are bounded at the same rate, in a bucket of their own
	// (LimitRestates), so they never take the tokens starts need; a loop of toggles costs at most
	// that burst of writes more.
	Edges Rate
	// Answers bounds the answers decided per conversation; a visitor message past it is kept in the
	// transcript and not answered (the next answer covers it).
	Answers Rate
	// MaxAnswers caps the assistant's answers in one conversation per day (a bucket of MaxAnswers
	// refilled over 24 hours): the message after the last one is handed over to a human with reason
	// budget. 0: no cap.
	MaxAnswers int
}

// Limit names, in Result.Limited and in metrics.
const (
	LimitEdges = "signal_edges"
	// LimitRestates bounds the write-backs made again for pauses written while the assistant is
	// already stopped (at the rate of Limits.Edges).
	LimitRestates = "signal_restates"
	LimitAnswers  = "answers"
)

// LimitKey is the key of State.Written holding the bucket or counter of a limit. It starts with a
// NUL byte, like EchoKey, so it can never be a session data key.
func LimitKey(name string) string { return "\x00limit\x00" + name }

const (
	answeredKey = "answered"
	refusedKey  = "edges_refused" // starts refused by the rate since the last edge applied
)

// limitedEdge refuses a start past the edge rate. The first refusal since the last edge applied is
// a Refused (the bridge audits it); later ones only set Limited and are counted, so a page toggling
// in a loop cannot grow the audit trail without bound.
func (st *stepper) limitedEdge(src Source) {
	k := LimitKey(refusedKey)
	n, _ := strconv.Atoi(st.r.State.Written[k])
	st.setWritten(k, strconv.Itoa(n+1))
	st.r.Limited = LimitEdges
	why := "rate limited: signal edges " + st.c.Limits.Edges.String()
	if n == 0 {
		st.refuse(src, why+"; further refusals are counted, not audited, until an edge is applied")
		return
	}
	st.r.Note = fmt.Sprintf("start from %s refused: %s (%d since the last edge applied)", src, why, n+1)
}

// RefusedEdges returns the starts refused by the edge rate since the last edge applied in s.
func RefusedEdges(s State) int {
	n, _ := strconv.Atoi(s.Written[LimitKey(refusedKey)])
	return n
}

// bucket returns the named bucket's level (thousandths of a token) and time, brought up to at.
func bucket(s State, name string, r Rate, at int64) (milli, last int64) {
	milli, last = int64(r.Burst)*1000, at
	if v, ok := s.Written[LimitKey(name)]; ok {
		a, b, _ := strings.Cut(v, "@")
		m, err1 := strconv.ParseInt(a, 10, 64)
		l, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil {
			milli, last = m, l
		}
	}
	if el := at - last; el > 0 {
		milli = min(int64(r.Burst)*1000, milli+el*1000/r.Every)
		last = at
	}
	return milli, last
}

// take takes one token of the named bucket at st.in.At. It reports false when none is left; with
// force the action happens anyway and only spends what is left.
func (st *stepper) take(name string, r Rate, force bool) bool {
	if !r.On() {
		return true
	}
	milli, last := bucket(st.r.State, name, r, st.in.At)
	ok := milli >= 1000
	switch {
	case ok:
		milli -= 1000
		if name == LimitEdges && st.r.State.Written[LimitKey(refusedKey)] != "" {
			st.setWritten(LimitKey(refusedKey), "")
		}
	case !force:
		return false
	}
	st.setWritten(LimitKey(name), strconv.FormatInt(milli, 10)+"@"+strconv.FormatInt(last, 10))
	return ok
}

// capRate is the bucket of Limits.MaxAnswers: that many answers at once, refilled over a day, so a
// conversation that comes back days later (Crisp keeps a visitor's session) is answered again.
func (c Config) capRate() Rate {
	if c.Limits.MaxAnswers <= 0 {
		return Rate{}
	}
	return Rate{Burst: c.Limits.MaxAnswers, Every: max(1, (24*time.Hour).Milliseconds()/int64(c.Limits.MaxAnswers))}
}

// capReached reports whether the conversation has no answer left under Limits.MaxAnswers.
func (st *stepper) capReached() bool {
	r := st.c.capRate()
	if !r.On() {
		return false
	}
	milli, _ := bucket(st.r.State, answeredKey, r, st.in.At)
	return milli < 1000
}

// answered spends one answer of Limits.MaxAnswers.
func (st *stepper) answered() {
	if r := st.c.capRate(); r.On() {
		st.take(answeredKey, r, true)
	}
}

// AnswersLeft returns the answers left under c's Limits.MaxAnswers in s at Unix ms at (-1 when there
// is no cap).
func (c Config) AnswersLeft(s State, at int64) int {
	r := c.capRate()
	if !r.On() {
		return -1
	}
	milli, _ := bucket(s, answeredKey, r, at)
	return int(milli / 1000)
}
