package bolt

import (
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
	"math"
)

// The journal in the binary format: an entry count (+1, 0 for nil), then per entry its fields in
// declaration order; each optional part (meta, message, offer, picker, field) is a presence byte
// followed by its fields. Load runs on every event, so the journal is not JSON.

func (e *encoder) journal(j []bridge.JournalEntry) {
	if j == nil {
		e.count(0)
		return
	}
	e.count(len(j) + 1)
	for i := range j {
		x := &j[i]
		e.int(int64(x.Seq))
		e.str(x.Kind)
		e.bool(x.Meta != nil)
		if m := x.Meta; m != nil {
			e.str(m.Email)
			e.str(m.Nickname)
			e.strMap(m.Data)
			e.strs(m.Segments)
			e.strMap(m.Expect)
		}
		e.bool(x.Message != nil)
		if m := x.Message; m != nil {
			e.outMessage(m)
		}
		e.str(x.State)
		e.bool(x.Offer != nil)
		if o := x.Offer; o != nil {
			e.str(o.Online)
			e.str(o.Offline)
			e.field(o.AskEmail)
		}
		e.str(string(x.Reason))
		e.int(x.Created)
		e.int(x.Deadline)
		e.int(int64(x.Attempts))
		e.int(x.NextAt)
		e.str(x.LastError)
		e.int(int64(min(x.Epoch, math.MaxInt64)))
		e.int(x.After)
		e.int(x.Fingerprint)
		chosen := ""
		if x.Offer != nil {
			chosen = x.Offer.Chosen
		}
		e.str(chosen)
	}
}

func (e *encoder) outMessage(m *bridge.OutMessage) {
	e.str(m.Type)
	e.str(m.Text)
	e.bool(m.Picker != nil)
	if p := m.Picker; p != nil {
		e.str(p.ID)
		e.str(p.Text)
		e.count(len(p.Choices))
		for _, c := range p.Choices {
			e.str(c.Value)
			e.str(c.Label)
			e.bool(c.Selected)
		}
	}
	e.field(m.Field)
	e.strs(m.Mentions)
	e.int(m.Fingerprint)
}

func (e *encoder) field(f *bridge.Field) {
	e.bool(f != nil)
	if f != nil {
		e.str(f.ID)
		e.str(f.Text)
		e.str(f.Explain)
		e.str(f.Value)
	}
}

// journal decodes a journal; v6 entries carry their epoch, anchor, fingerprint and offer choice.
func (d *decoder) journal(v6 bool) []bridge.JournalEntry {
	n, isNil := d.count()
	if isNil {
		return nil
	}
	j := make([]bridge.JournalEntry, n)
	for i := range j {
		x := &j[i]
		x.Seq = uint64(d.int())
		x.Kind = d.str()
		if d.bool() {
			x.Meta = &bridge.MetaUpdate{Email: d.str(), Nickname: d.str(), Data: d.strMap(), Segments: d.strs(), Expect: d.strMap()}
		}
		if d.bool() {
			x.Message = d.outMessage(v6)
		}
		x.State = d.str()
		if d.bool() {
			x.Offer = &bridge.Offer{Online: d.str(), Offline: d.str(), AskEmail: d.field()}
		}
		x.Reason = signals.Reason(d.str())
		x.Created = d.int()
		x.Deadline = d.int()
		x.Attempts = int(d.int())
		x.NextAt = d.int()
		x.LastError = d.str()
		if v6 {
			x.Epoch = uint64(d.int())
			x.After = d.int()
			x.Fingerprint = d.int()
			if chosen := d.str(); chosen != "" && x.Offer != nil {
				x.Offer.Chosen = chosen
			}
		}
		if d.err != nil {
			return nil
		}
	}
	return j
}

func (d *decoder) outMessage(v6 bool) *bridge.OutMessage {
	m := &bridge.OutMessage{Type: d.str(), Text: d.str()}
	if d.bool() {
		p := &bridge.Picker{ID: d.str(), Text: d.str()}
		if n, _ := d.count0(); n > 0 {
			p.Choices = make([]bridge.Choice, n)
			for i := range p.Choices {
				p.Choices[i] = bridge.Choice{Value: d.str(), Label: d.str(), Selected: d.bool()}
			}
		}
		m.Picker = p
	}
	m.Field = d.field()
	m.Mentions = d.strs()
	if v6 {
		m.Fingerprint = d.int()
	}
	return m
}

func (d *decoder) field() *bridge.Field {
	if !d.bool() {
		return nil
	}
	return &bridge.Field{ID: d.str(), Text: d.str(), Explain: d.str(), Value: d.str()}
}

// count0 reads a plain count (written with encoder.count, no nil marker), bounded by what is left.
func (d *decoder) count0() (int, bool) {
	v := d.uvarint()
	if d.err != nil || v > uint64(len(d.b)) {
		if d.err == nil {
			d.err = errShort
		}
		return 0, false
	}
	return int(v), true
}
