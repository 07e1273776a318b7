package crisp

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/signalbridge/signalbridge/bridge"
)

// Class is the priority of a REST call against the client-side daily quota. Answers and handovers
// come first, then guided steps, then write-backs, then catch-up and housekeeping. A class may take
// a token only while more than its floor (the share reserved for the classes above it) is left, so
// a hostile conversation's write-backs or a long catch-up can never spend what the next answer
// needs; the top class may spend everything and waits in line when the bucket is empty.
type Class int

// Classes, highest priority first.
const (
	ClassAnswer     Class = iota // answers, handover notes and notices, state, typing, availability
	ClassStep                    // guided steps: their pickers and fields
	ClassWriteBack               // session data write-backs and segments (meta read-merge-write)
	ClassBackground              // catch-up, helpdesk sync, connect listings
	numClasses
)

// String is the class's name in metrics and /readyz.
func (c Class) String() string {
	switch c {
	case ClassAnswer:
		return "answers"
	case ClassStep:
		return "steps"
	case ClassWriteBack:
		return "write_backs"
	case ClassBackground:
		return "background"
	}
	return "unknown"
}

// classFloor is the share of the burst each class must leave in the bucket: the reserve of the
// classes above it. Half the burst is kept from write-backs: a flood of them (a page toggling with
// the edge limit off) then still leaves a new conversation's answers (two calls: the meta read and
// the answer) about an hour's worth of room, and write-backs, which coalesce, wait.
var classFloor = [numClasses]float64{ClassAnswer: 0, ClassStep: 0.15, ClassWriteBack: 0.50, ClassBackground: 0.60}

type classKey struct{}

// WithClass returns ctx whose REST calls are counted against the quota as class c, overriding the
// class the client would give their route.
func WithClass(ctx context.Context, c Class) context.Context {
	return context.WithValue(ctx, classKey{}, c)
}

// classOf returns the class of a call: its context's, else its route's.
func classOf(ctx context.Context, method, route string) Class {
	if c, ok := ctx.Value(classKey{}).(Class); ok && c >= 0 && c < numClasses {
		return c
	}
	switch route {
	case RouteMeta:
		if method == http.MethodGet {
			return ClassAnswer // read before answering (email, language)
		}
		return ClassWriteBack
	case RouteConversations, RouteConnectEndpoints, RouteConnectAccount, RouteConnectWebsites,
		RouteHelpdeskLocales, RouteHelpdeskArticles, RouteHelpdeskArticle:
		return ClassBackground
	}
	return ClassAnswer
}

// sendClass is the class of a message the bridge posts: a guided step's picker or field is a step;
// an answer (its picker too), a note, a notice or the handover's email field is an answer.
func sendClass(m bridge.OutMessage) Class {
	switch {
	case m.Type == "picker" && m.Picker != nil && m.Picker.ID != bridge.PickerAnswer:
		return ClassStep
	case m.Type == "field" && m.Field != nil && m.Field.ID != bridge.FieldEmail:
		return ClassStep
	}
	return ClassAnswer
}

// classStats counts one class's use of the quota.
type classStats struct {
	granted atomic.Uint64 // tokens taken
	waited  atomic.Uint64 // calls that had to wait for a token
	refused atomic.Uint64 // calls that gave up (their deadline came before the token)
	waiting atomic.Int64  // calls waiting now
}

// QuotaClass is one class's use of the client-side quota since the client was made.
type QuotaClass struct {
	Class   string // answers, steps, write_backs, background
	Floor   int    // tokens this class leaves for the classes above it
	Granted uint64 // calls let through
	Waited  uint64 // calls that had to wait for a token
	Refused uint64 // calls that gave up waiting (their deadline came first)
	Waiting int64  // calls waiting now
}

// QuotaStats returns the use of the quota per class, highest priority first (nil without a quota).
func (c *Client) QuotaStats() []QuotaClass {
	if c.quota == nil {
		return nil
	}
	out := make([]QuotaClass, numClasses)
	for i := range out {
		s := &c.quota.stats[i]
		out[i] = QuotaClass{Class: Class(i).String(), Floor: c.quota.floor(Class(i)), Granted: s.granted.Load(),
			Waited: s.waited.Load(), Refused: s.refused.Load(), Waiting: s.waiting.Load()}
	}
	return out
}
