package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// formatBinary is the version byte of an encoded conversation: format, mode length, mode, then the
// fields of bridge.Conversation in declaration order. Integers are varints, strings and collections
// are length-prefixed; collections store length+1 so that nil and empty survive a round trip. It
// decodes about ten times faster than encoding/json, and Load runs on every event.
//
// Adding a field to bridge.Conversation, signals.State or bridge.Turn needs a new format here;
// TestCodecKnowsEveryField fails until then.
const formatBinary = 6

// Earlier formats, read and never written: 3 had no journal, 4 kept it as JSON, 5 had no effect
// identities (epochs, fingerprints, Crisp anchors).
const (
	formatV3 = 3
	formatV4 = 4
	formatV5 = 5
)

var errShort = errors.New("decode conversation: truncated value")

type encoder struct{ b []byte }

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) int(v int64)     { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) count(n int)     { e.b = binary.AppendUvarint(e.b, uint64(n)) }
func (e *encoder) float(f float64) { e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(f)) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) strMap(m map[string]string) {
	if m == nil {
		e.count(0)
		return
	}
	e.count(len(m) + 1)
	for k, v := range m {
		e.str(k)
		e.str(v)
	}
}

func (e *encoder) intMap(m map[string]int) {
	if m == nil {
		e.count(0)
		return
	}
	e.count(len(m) + 1)
	for k, v := range m {
		e.str(k)
		e.int(int64(v))
	}
}

func (e *encoder) ints(s []int64) {
	if s == nil {
		e.count(0)
		return
	}
	e.count(len(s) + 1)
	for _, v := range s {
		e.int(v)
	}
}

func (d *decoder) ints() []int64 {
	n, isNil := d.count()
	if isNil {
		return nil
	}
	s := make([]int64, n)
	for i := range s {
		s[i] = d.int()
	}
	return s
}

func (e *encoder) strs(s []string) {
	if s == nil {
		e.count(0)
		return
	}
	e.count(len(s) + 1)
	for _, v := range s {
		e.str(v)
	}
}

// encodeConversation writes the header (format, mode) and the binary body. The mode in the header
// lets Commit maintain the mode index without decoding the previous value.
func encodeConversation(c *bridge.Conversation) ([]byte, error) {
	if len(c.Mode) > 255 {
		return nil, fmt.Errorf("%w: mode %q too long", ErrInvalid, c.Mode)
	}
	e := encoder{b: make([]byte, 0, 256+64*len(c.Transcript))}
	e.b = append(e.b, formatBinary, byte(len(c.Mode)))
	e.b = append(e.b, c.Mode...)
	e.str(c.WebsiteID)
	e.str(c.SessionID)
	s := &c.State
	e.str(string(s.Reason))
	e.int(s.Since)
	e.strMap(s.Last)
	e.strMap(s.Written)
	e.str(s.CrispState)
	e.int(s.HandoverAt)
	e.int(int64(s.Answers))
	e.int(int64(s.Transitions))
	e.str(c.Language)
	e.str(c.Country)
	e.str(c.Email)
	e.strs(c.Locales)
	e.bool(c.MetaLoaded)
	if c.Transcript == nil {
		e.count(0)
	} else {
		e.count(len(c.Transcript) + 1)
		for i := range c.Transcript {
			t := &c.Transcript[i]
			e.str(t.Role)
			e.str(t.Text)
			e.int(t.At)
			e.int(t.Fingerprint)
			e.strs(t.Sources)
		}
	}
	e.int(int64(c.ScenarioIndex))
	e.int(c.TokensUsed)
	e.float(c.CostUSD)
	e.int(int64(c.Replies))
	e.int(c.CreatedAt)
	e.int(c.UpdatedAt)
	e.strMap(c.Data)
	e.strs(c.Segments)
	e.intMap(c.Deliveries)
	e.int(c.ReplyDue)
	e.int(int64(min(c.JournalSeq, math.MaxInt64)))
	e.journal(c.Journal)
	e.int(int64(min(c.Epoch, math.MaxInt64)))
	e.int(c.CrispAt)
	e.ints(c.Matched)
	return e.b, nil
}

// splitConversation returns the mode and body of a stored value.
func splitConversation(v []byte) (signals.Mode, []byte, error) {
	if len(v) < 2 || (v[0] != formatBinary && v[0] != formatV3 && v[0] != formatV4 && v[0] != formatV5) || len(v) < 2+int(v[1]) {
		return "", nil, errors.New("decode conversation: unknown format")
	}
	n := int(v[1])
	return signals.Mode(v[2 : 2+n]), v[2+n:], nil
}

// decoder reads an encoded value. Its strings are substrings of all, one copy of the whole value
// made once (when set), rather than one allocation per string: Load runs on every event.
type decoder struct {
	b   []byte
	all string // string(b) as b was at the start, or ""
	err error
}

// newDecoder returns a decoder of b whose strings share one copy of b.
func newDecoder(b []byte) decoder { return decoder{b: b, all: string(b)} }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return ""
	}
	var s string
	switch {
	case n == 0:
	case len(d.all) >= len(d.b):
		at := len(d.all) - len(d.b)
		s = d.all[at : at+int(n)]
	default:
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

// count reads a collection length+1; nil reports a nil collection. It bounds the length by the bytes
// left (every element takes at least one), so a corrupt value cannot make a huge allocation.
func (d *decoder) count() (n int, isNil bool) {
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return 0, true
	}
	if v-1 > uint64(len(d.b)) {
		d.err = errShort
		return 0, true
	}
	return int(v - 1), false
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errShort
		return 0
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < 1 {
		d.err = errShort
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

func (d *decoder) intMap() map[string]int {
	n, isNil := d.count()
	if isNil {
		return nil
	}
	m := make(map[string]int, n)
	for range n {
		k := d.str()
		m[k] = int(d.int())
	}
	return m
}

func (d *decoder) strMap() map[string]string {
	n, isNil := d.count()
	if isNil {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) strs() []string {
	n, isNil := d.count()
	if isNil {
		return nil
	}
	s := make([]string, n)
	for i := range s {
		s[i] = d.str()
	}
	return s
}

// decodeConversation decodes a stored value into c. It copies every byte it keeps, so it is safe to
// call inside a transaction and use c after it.
func decodeConversation(v []byte, c *bridge.Conversation) error {
	mode, body, err := splitConversation(v)
	if err != nil {
		return err
	}
	d := newDecoder(body)
	c.Mode = mode
	c.WebsiteID = d.str()
	c.SessionID = d.str()
	s := &c.State
	s.Reason = signals.Reason(d.str())
	s.Since = d.int()
	s.Last = d.strMap()
	s.Written = d.strMap()
	s.CrispState = d.str()
	s.HandoverAt = d.int()
	s.Answers = int(d.int())
	s.Transitions = int(d.int())
	c.Language = d.str()
	c.Country = d.str()
	c.Email = d.str()
	c.Locales = d.strs()
	c.MetaLoaded = d.bool()
	c.Transcript = nil
	if n, isNil := d.count(); !isNil {
		c.Transcript = make([]bridge.Turn, n)
		for i := range c.Transcript {
			t := &c.Transcript[i]
			t.Role = d.str()
			t.Text = d.str()
			t.At = d.int()
			t.Fingerprint = d.int()
			t.Sources = d.strs()
		}
	}
	c.ScenarioIndex = int(d.int())
	c.TokensUsed = d.int()
	c.CostUSD = d.float()
	c.Replies = int(d.int())
	c.CreatedAt = d.int()
	c.UpdatedAt = d.int()
	c.Data = d.strMap()
	c.Segments = d.strs()
	c.Deliveries = d.intMap()
	c.ReplyDue = d.int()
	c.Journal, c.JournalSeq = nil, 0
	switch v[0] {
	case formatBinary:
		c.JournalSeq = uint64(d.int())
		c.Journal = d.journal(true)
		c.Epoch = uint64(d.int())
		c.CrispAt = d.int()
		c.Matched = d.ints()
	case formatV5:
		c.JournalSeq = uint64(d.int())
		c.Journal = d.journal(false)
	case formatV4:
		c.JournalSeq = uint64(d.int())
		if j := d.str(); j != "" && d.err == nil {
			if err := json.Unmarshal([]byte(j), &c.Journal); err != nil {
				return fmt.Errorf("decode journal: %w", err)
			}
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("decode conversation: %d trailing bytes", len(d.b))
	}
	return nil
}
