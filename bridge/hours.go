package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/hours"
	"github.com/signalbridge/signalbridge/signals"
)

// Journal kinds of support hours. Both are performed by performHours; they use only fields every
// entry already has, so stores need no new format.
const (
	// JournalClosed is a handover outside support hours: Offer as for JournalOffer, except that
	// Offer.Offline says when the team is back. It is performed like an offer, with the time shown
	// again in the visitor's time zone when Crisp knows it.
	JournalClosed = "closed_hours"
	// JournalReopen brings a conversation handed over while closed back to the top of the human
	// inbox at opening: NextAt is the opening, State the Crisp state to set ("pending"), Message
	// the operators' note. It is skipped when the conversation is no longer with a human.
	JournalReopen = "reopen"
)

// SupportHours are a website's support hours. Its methods are safe for concurrent use.
type SupportHours struct {
	Schedule *hours.Schedule
	// StartWhenClosed starts the assistant by itself outside hours in a wait_for_signal website:
	// a visitor who writes while the team is away gets the assistant (the weekend use case).
	StartWhenClosed bool

	forced atomic.Bool
}

// ForceClosed switches the website closed whatever the schedule (the demo's switch), or back.
func (h *SupportHours) ForceClosed(on bool) { h.forced.Store(on) }

// Forced reports whether the website is forced closed.
func (h *SupportHours) Forced() bool { return h.forced.Load() }

// HoursStatus is the support hours' state at an instant.
type HoursStatus struct {
	Open     bool      `json:"open"`
	Until    time.Time `json:"until,omitzero"` // when open: the end of the current opening
	Next     time.Time `json:"next,omitzero"`  // the next opening (after Until when open)
	TimeZone string    `json:"time_zone"`
	Forced   bool      `json:"forced_closed,omitempty"`
}

// At returns the status at t. A website forced closed reports the opening after the current one.
func (h *SupportHours) At(t time.Time) HoursStatus {
	st := h.Schedule.At(t)
	out := HoursStatus{Open: st.Open, Until: st.Until, Next: st.Next, TimeZone: h.Schedule.Location.String()}
	if h.Forced() {
		out.Open, out.Until, out.Forced = false, time.Time{}, true
	}
	loc := h.Schedule.Location
	if !out.Until.IsZero() {
		out.Until = out.Until.In(loc)
	}
	if !out.Next.IsZero() {
		out.Next = out.Next.In(loc)
	}
	return out
}

// facts are the support hours as the assistant tells them to a visitor who asks when the team is
// open, in every language the hours package speaks, in the schedule's own zone.
func (h *SupportHours) facts(now time.Time) *assistant.SupportHours {
	st := h.At(now)
	f := &assistant.SupportHours{Week: map[string]string{}, Back: map[string]string{}, Zone: st.TimeZone, Open: st.Open}
	for _, lang := range hours.Languages() {
		f.Week[lang] = h.Schedule.Describe(lang)
		if !st.Open && !st.Next.IsZero() {
			f.Back[lang] = hours.When(lang, st.Next, now.In(h.Schedule.Location))
		}
	}
	return f
}

// ErrNoHours is returned by Hours for a website without support hours.
var ErrNoHours = errors.New("no support hours configured")

// Hours returns a website's support hours status now.
func (b *Bridge) Hours(websiteID string) (HoursStatus, error) {
	site := b.website(websiteID)
	if site == nil || site.Hours == nil {
		return HoursStatus{}, ErrNoHours
	}
	return site.Hours.At(b.opts.Now()), nil
}

// ForceClosed switches a website forced closed (or back to its schedule).
func (b *Bridge) ForceClosed(websiteID string, on bool) (HoursStatus, error) {
	site := b.website(websiteID)
	if site == nil || site.Hours == nil {
		return HoursStatus{}, ErrNoHours
	}
	site.Hours.ForceClosed(on)
	return site.Hours.At(b.opts.Now()), nil
}

// offerHuman journals what a handover tells the visitor: within hours (or without hours) the
// offer; outside hours the closed notice saying when the team is back, the email field when no
// email is known, and the reminder that brings the conversation back at opening.
func (st *step) offerHuman(reason signals.Reason) {
	c := &st.conv
	now := st.b.opts.Now()
	o := &Offer{Online: st.b.text(st, "handover_ack"), Offline: st.b.text(st, "nobody_online")}
	askEmail := c.Email == "" && st.site.AskEmailOffline
	h := st.site.Hours
	var hs HoursStatus
	if h != nil {
		hs = h.At(now)
	}
	if h == nil || hs.Open {
		if askEmail {
			o.AskEmail = &Field{ID: FieldEmail, Text: st.b.text(st, "ask_email"), Explain: "you@example.com"}
		}
		st.addJournal(JournalEntry{Kind: JournalOffer, Reason: reason, Offer: o})
		return
	}
	o.Offline = st.closedText(c.Language, hs.Next, now, h.Schedule.Location)
	if c.Email == "" {
		o.AskEmail = &Field{ID: FieldEmail, Text: st.b.text(st, "ask_email"), Explain: "you@example.com"}
	}
	st.addJournal(JournalEntry{Kind: JournalClosed, Reason: reason, Offer: o})
	if hs.Next.IsZero() {
		return
	}
	note := fmt.Sprintf("Support hours started. This conversation was handed over while closed (%s, %s); the visitor was told we are back %s.",
		now.In(h.Schedule.Location).Format("Mon 2 Jan 15:04"), h.Schedule.Location, hours.When("en", hs.Next, now.In(h.Schedule.Location)))
	st.addJournal(JournalEntry{Kind: JournalReopen, Reason: reason, State: signals.CrispPending,
		Message: &OutMessage{Type: "note", Text: note}})
	// Due at opening, retried until its own deadline after it.
	e := &c.Journal[len(c.Journal)-1]
	e.NextAt = hs.Next.UnixMilli()
	e.Deadline = e.NextAt + st.b.opts.JournalDeadline.Milliseconds()
}

// closedText is the closed notice in lang with the opening shown in loc.
func (st *step) closedText(lang string, next, now time.Time, loc *time.Location) string {
	return closedText(st.site, lang, next, now, loc)
}

func closedText(site *Website, lang string, next, now time.Time, loc *time.Location) string {
	tmpl := ""
	if site.Text != nil {
		if s := site.Text(lang, "closed_hours"); s != "closed_hours" {
			tmpl = s
		}
	}
	if tmpl == "" {
		tmpl = "Our team is away right now. We're back {when} and will reply here."
	}
	if next.IsZero() {
		// Closed with no opening in sight: the usual offline notice.
		if site.Text != nil {
			return site.Text(lang, "nobody_online")
		}
		return defaultText["nobody_online"]
	}
	return strings.ReplaceAll(tmpl, "{when}", hours.When(lang, next.In(loc), now.In(loc)))
}

// performReopen brings a conversation handed over while closed back to the top of the inbox at
// opening (the entry is due then), with a reminder note, unless it was resolved or given back.
func (b *Bridge) performReopen(ctx context.Context, p *performer) error {
	key, e := p.key, p.e
	c, err := b.opts.Store.Load(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("load for reopen: %w", err)
	}
	if c.Mode != signals.ModeHuman || c.CrispState == signals.CrispResolved {
		return nil // resolved or given back meanwhile: nothing to bring back
	}
	if err := b.opts.Platform.SetState(ctx, key.WebsiteID, key.SessionID, e.State); err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	if e.Message == nil {
		return nil
	}
	m := *e.Message
	if c.Email != "" {
		m.Text += " Email: " + c.Email + "." // known now, perhaps left after the handover
	}
	return p.post(ctx, m, 0)
}

// closedInVisitorZone returns the closed notice with the opening in the visitor's time zone when
// Crisp knows it (one meta read), else as decided (the website's zone).
func (b *Bridge) closedInVisitorZone(ctx context.Context, key Key, e *JournalEntry) string {
	site := b.website(key.WebsiteID)
	if site == nil || site.Hours == nil {
		return e.Offer.Offline
	}
	m, err := b.opts.Platform.Meta(ctx, key.WebsiteID, key.SessionID)
	if err != nil || m.Timezone == nil {
		return e.Offer.Offline
	}
	c, err := b.opts.Store.Load(ctx, key)
	if err != nil {
		return e.Offer.Offline
	}
	decided := time.UnixMilli(e.Created)
	hs := site.Hours.At(decided)
	if hs.Open || hs.Next.IsZero() {
		return e.Offer.Offline
	}
	return closedText(site, c.Language, hs.Next, b.opts.Now(), hours.VisitorZone(*m.Timezone))
}

// startWhenClosed starts the assistant in a waiting conversation when the visitor writes outside
// support hours and the website asks for it. The start is a trusted timer input: it only leaves
// the initial waiting mode and never takes a conversation from a human.
func (st *step) startWhenClosed(at int64) {
	h := st.site.Hours
	if h == nil || !h.StartWhenClosed || st.conv.Mode != signals.ModeWaiting || h.At(st.b.opts.Now()).Open {
		return
	}
	st.apply(signals.Input{Kind: signals.InputStart, Source: signals.SourceTimer, At: at, Detail: "outside support hours"})
}

// SweepReopen kicks the journal of every conversation of a website with support hours whose
// reminder at opening is due, reading only conversations that owe work (Store.Outbox). The entry is
// performed on the conversation's shard like any other; the count is of conversations kicked.
func (b *Bridge) SweepReopen(ctx context.Context) (int, error) {
	keys, err := b.opts.Store.Outbox(ctx, 100000)
	if err != nil {
		return 0, fmt.Errorf("reopen sweep: %w", err)
	}
	now := b.opts.Now().UnixMilli()
	n := 0
	for _, k := range keys {
		if site := b.website(k.WebsiteID); site == nil || site.Hours == nil {
			continue
		}
		c, err := b.opts.Store.Load(ctx, k)
		if err != nil {
			continue
		}
		due := false
		for _, e := range c.Journal {
			due = due || (e.Kind == JournalReopen && e.NextAt <= now)
		}
		if !due {
			continue
		}
		if err := b.enqueue(ctx, task{key: k, kick: true}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
