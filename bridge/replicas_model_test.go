package bridge_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/signals"
)

// replicaChecks is how many cases TestModelReplicas runs in `make test` (REPLICA_CHECKS changes it;
// `make soak` runs 5,000).
const replicaChecks = 60

// TestModelReplicas is the model-based test of the effect pipeline across replicas: two or three
// bridges on one real redis-server (leases of 200 ms), one Crisp (a shared fake that keeps client
// fingerprints and answers the posted-check by them), random inputs delivered to random replicas,
// and the delays the review found: Crisp calls slower than a lease, replica clocks 2 s apart, Crisp
// echoes of our messages arriving at another replica, a replica whose Crisp call hangs for three
// lease times, a replica killed mid-call (its calls fail, one after Crisp stored the message) and
// replaced. At quiescence: no message of ours posted twice
// (every entry's fingerprint at most once), no visitor question answered twice, no model call for an
// answer already posted, nothing owed or left in the journal or the inbox.
func TestModelReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("model test on a real redis-server")
	}
	checks := strconv.Itoa(replicaChecks)
	if v := os.Getenv("REPLICA_CHECKS"); v != "" {
		checks = v
	}
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", checks); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("rapid.checks", old) })
	setFlagDefault(t, "rapid.nofailfile", "RAPID_NOFAILFILE", "true")
	srv := redistest.Start(t)
	var cases, inputs atomic.Int64
	var prefixSeq atomic.Int64
	start := time.Now()
	rapid.Check(t, func(rt *rapid.T) {
		cases.Add(1)
		rc := newReplicaCase(rt, srv, fmt.Sprintf("rm%d:", prefixSeq.Add(1)))
		defer rc.closeAll()
		n := rapid.IntRange(2, 8).Draw(rt, "inputs")
		for range n {
			rc.step()
			inputs.Add(1)
		}
		rc.quiesce()
		rc.check()
	})
	t.Logf("replica model: %d cases, %d inputs, in %s", cases.Load(), inputs.Load(), time.Since(start).Round(time.Millisecond))
}

// rmSent is one message posted to the shared Crisp.
type rmSent struct {
	session, typ, text string
	fp                 int64
}

// rmCrisp is the one Crisp all replicas talk to.
type rmCrisp struct {
	mu    sync.Mutex
	sent  []rmSent
	state map[string]string
	// echo, when set, delivers Crisp's echo of our message to a replica.
	echo func(session string, m bridge.OutMessage, fp int64)
}

func (c *rmCrisp) send(s string, m bridge.OutMessage) int64 {
	text := m.Text
	if m.Picker != nil {
		text = m.Picker.Text
	}
	if m.Field != nil {
		text = m.Field.Text
	}
	c.mu.Lock()
	fp := m.Fingerprint
	if fp == 0 {
		fp = int64(1000 + len(c.sent))
	}
	c.sent = append(c.sent, rmSent{session: s, typ: m.Type, text: text, fp: fp})
	echo := c.echo
	c.mu.Unlock()
	if echo != nil {
		echo(s, m, fp)
	}
	return fp
}

// rmPlat is one replica's view of Crisp: the shared fake behind a delay, and a kill switch.
type rmPlat struct {
	c     *rmCrisp
	delay time.Duration
	// stall makes the next call take this long (longer than a lease: a replica whose Crisp call
	// hangs while its heartbeat goes on).
	stall atomic.Int64
	dead  atomic.Bool
	// landOnce: the first call after the kill is performed (Crisp stores it), then fails, as a
	// process killed while its POST was on the wire.
	landOnce atomic.Bool
}

var errKilled = errors.New("process killed")

func (p *rmPlat) gate(ctx context.Context) error {
	if p.dead.Load() {
		return errKilled
	}
	d := p.delay
	if st := p.stall.Swap(0); st > 0 {
		d = time.Duration(st)
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C: // a slow Crisp: the call is on the wire
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *rmPlat) Send(ctx context.Context, _, s string, m bridge.OutMessage) (int64, error) {
	if err := p.gate(ctx); err != nil {
		return 0, err
	}
	fp := p.c.send(s, m)
	if p.dead.Load() && p.landOnce.CompareAndSwap(true, false) {
		return 0, errKilled // stored, the answer never arrived
	}
	return fp, nil
}

func (p *rmPlat) UpdateMeta(ctx context.Context, _, _ string, _ bridge.MetaUpdate) error {
	return p.gate(ctx)
}
func (p *rmPlat) Meta(ctx context.Context, _, _ string) (bridge.Meta, error) {
	return bridge.Meta{}, p.gate(ctx)
}
func (p *rmPlat) SetState(ctx context.Context, _, s, state string) error {
	if err := p.gate(ctx); err != nil {
		return err
	}
	p.c.mu.Lock()
	p.c.state[s] = state
	p.c.mu.Unlock()
	return nil
}
func (p *rmPlat) Compose(context.Context, string, string, bool) error { return nil }
func (p *rmPlat) Availability(ctx context.Context, _ string) (bridge.Availability, error) {
	return bridge.Availability{Online: true}, p.gate(ctx)
}

// Posted looks a message up by its fingerprint, as Crisp keeping client fingerprints would.
func (p *rmPlat) Posted(ctx context.Context, _, s string, q bridge.PostCheck) (int64, error) {
	if err := p.gate(ctx); err != nil {
		return 0, err
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	for _, x := range p.c.sent {
		if x.session == s && x.fp == q.Message.Fingerprint {
			return x.fp, nil
		}
	}
	return 0, nil
}

// rmModel answers "re:<last visitor text>" after a delay; it counts calls per question.
type rmModel struct {
	delay    time.Duration
	handover bool
	mu       sync.Mutex
	calls    map[string]int
}

func (m *rmModel) Reply(ctx context.Context, q assistant.Question) (assistant.Answer, error) {
	last := q.History[len(q.History)-1].Text
	m.mu.Lock()
	m.calls[last]++
	m.mu.Unlock()
	t := time.NewTimer(m.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return assistant.Answer{}, ctx.Err()
	}
	return assistant.Answer{Text: "re:" + last, Handover: m.handover && strings.HasSuffix(last, "!"), Offline: true}, nil
}

type rmReplica struct {
	name string
	b    *bridge.Bridge
	st   *redis.Store
	plat *rmPlat
	dead bool
}

type replicaCase struct {
	t        *rapid.T
	srv      *redistest.Server
	prefix   string
	crisp    *rmCrisp
	model    *rmModel
	lease    time.Duration
	replicas []*rmReplica
	sessions []string
	seq      int
	asked    []string // questions asked, in order
	site     *bridge.Website
	nextName int
	skews    []time.Duration
	mu       sync.Mutex
}

func newReplicaCase(t *rapid.T, srv *redistest.Server, prefix string) *replicaCase {
	rc := &replicaCase{t: t, srv: srv, prefix: prefix, lease: 200 * time.Millisecond,
		crisp: &rmCrisp{state: map[string]string{}},
		model: &rmModel{calls: map[string]int{},
			delay:    rapid.SampledFrom([]time.Duration{0, 20 * time.Millisecond, 300 * time.Millisecond}).Draw(t, "model_delay"),
			handover: rapid.Bool().Draw(t, "model_hands_over_on_!")},
		site: &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en"},
	}
	rc.sessions = []string{"s1", "s2"}[:rapid.IntRange(1, 2).Draw(t, "sessions")]
	n := rapid.IntRange(2, 3).Draw(t, "replicas")
	delay := rapid.SampledFrom([]time.Duration{0, 30 * time.Millisecond, 250 * time.Millisecond}).Draw(t, "crisp_delay")
	for i := range n {
		skew := rapid.SampledFrom([]time.Duration{0, 2 * time.Second, -2 * time.Second}).Draw(t, fmt.Sprintf("clock_skew_%d", i))
		rc.skews = append(rc.skews, skew)
		rc.replicas = append(rc.replicas, rc.open(delay, skew))
	}
	if rapid.Bool().Draw(t, "echoes_to_other_replicas") {
		rc.crisp.echo = func(s string, m bridge.OutMessage, fp int64) {
			r := rc.live()
			if r == nil {
				return
			}
			ev := bridge.Event{Name: bridge.EventMessageReceived, Via: bridge.ViaHooks, WebsiteID: "w", SessionID: s,
				Fingerprint: fp, Message: &bridge.Message{Type: m.Type, From: "operator", Origin: "urn:test:bridge:0", Text: m.Text}}
			go func() { _ = r.b.HandleEvent(context.Background(), ev) }()
		}
	}
	return rc
}

func (rc *replicaCase) open(delay, skew time.Duration) *rmReplica {
	rc.nextName++
	name := fmt.Sprintf("replica-%d", rc.nextName)
	st, err := redis.Open(rc.srv.URL(0), redis.Options{Prefix: rc.prefix})
	if err != nil {
		rc.t.Fatal(err)
	}
	p := &rmPlat{c: rc.crisp, delay: delay}
	b, err := bridge.Open(bridge.Options{Store: st, Platform: p, Assistant: rc.model, Shards: 2,
		PluginURN: "urn:test:bridge:0", Websites: func(string) *bridge.Website { return rc.site },
		Shared: true, Replica: name, LeaseTTL: rc.lease, TypingDelay: time.Hour, CallTimeout: 2 * time.Second,
		DrainTimeout: time.Second, Now: func() time.Time { return time.Now().Add(skew) }})
	if err != nil {
		rc.t.Fatal(err)
	}
	return &rmReplica{name: name, b: b, st: st, plat: p}
}

// live returns a random live replica.
func (rc *replicaCase) live() *rmReplica {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*rmReplica
	for _, r := range rc.replicas {
		if !r.dead {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out[int(time.Now().UnixNano())%len(out)]
}

func (rc *replicaCase) pick(label string) *rmReplica {
	rc.mu.Lock()
	var live []*rmReplica
	for _, r := range rc.replicas {
		if !r.dead {
			live = append(live, r)
		}
	}
	rc.mu.Unlock()
	return rapid.SampledFrom(live).Draw(rc.t, label)
}

func (rc *replicaCase) deliver(r *rmReplica, ev bridge.Event) {
	if err := r.b.HandleEvent(context.Background(), ev); err != nil {
		rc.t.Fatalf("handle %s on %s: %v", ev.Name, r.name, err)
	}
}

// step draws and applies one input.
func (rc *replicaCase) step() {
	kind := rapid.SampledFrom([]string{"message", "message", "message", "human", "resolve", "kill", "stall"}).Draw(rc.t, "input")
	s := rapid.SampledFrom(rc.sessions).Draw(rc.t, "session")
	rc.seq++
	switch kind {
	case "message":
		r := rc.pick("via")
		text := fmt.Sprintf("q%d", rc.seq)
		if rapid.Bool().Draw(rc.t, "urgent") {
			text += "!"
		}
		rc.asked = append(rc.asked, text)
		rc.t.Logf("input %d: %q in %s via %s", rc.seq, text, s, r.name)
		rc.deliver(r, bridge.Event{Name: bridge.EventMessageSend, Via: bridge.ViaHooks, WebsiteID: "w", SessionID: s,
			Fingerprint: int64(rc.seq), Timestamp: time.Now().UnixMilli(),
			Message: &bridge.Message{Type: "text", From: "user", Origin: "chat", Text: text}})
	case "human":
		r := rc.pick("via")
		rc.t.Logf("input %d: talk to a human in %s via %s", rc.seq, s, r.name)
		rc.deliver(r, bridge.Event{Name: bridge.EventMessageUpdated, Via: bridge.ViaHooks, WebsiteID: "w", SessionID: s,
			Fingerprint: int64(100000 + rc.seq), Message: &bridge.Message{Type: "picker", From: "user", Origin: "chat",
				Picker: &bridge.Picker{ID: bridge.PickerAnswer, Choices: []bridge.Choice{{Value: bridge.ChoiceHuman, Selected: true}}}}})
	case "resolve":
		r := rc.pick("via")
		rc.t.Logf("input %d: the operator resolves %s via %s", rc.seq, s, r.name)
		rc.crisp.mu.Lock()
		rc.crisp.state[s] = "resolved"
		rc.crisp.mu.Unlock()
		rc.deliver(r, bridge.Event{Name: bridge.EventSessionSetState, Via: bridge.ViaHooks, WebsiteID: "w", SessionID: s,
			State: "resolved", Timestamp: time.Now().UnixMilli()})
	case "stall":
		r := rc.pick("stalled")
		rc.t.Logf("input %d: %s's next Crisp call hangs for 3 lease times", rc.seq, r.name)
		r.plat.stall.Store(int64(3 * rc.lease))
	case "kill":
		r := rc.pick("victim")
		rc.t.Logf("input %d: %s is killed (its next post lands, unanswered) and replaced", rc.seq, r.name)
		r.plat.landOnce.Store(true)
		r.plat.dead.Store(true)
		rc.mu.Lock()
		r.dead = true
		rc.mu.Unlock()
		_ = r.b.Close()
		_ = r.st.Close()
		nr := rc.open(r.plat.delay, 0)
		rc.mu.Lock()
		rc.replicas = append(rc.replicas, nr)
		rc.mu.Unlock()
	}
	if rapid.Bool().Draw(rc.t, "wait_a_little") {
		time.Sleep(time.Duration(rapid.IntRange(1, 300).Draw(rc.t, "ms")) * time.Millisecond) // lets calls overlap inputs
	}
}

// quiesce waits, bounded, until nothing is owed, pending or unprocessed and no answer runs.
func (rc *replicaCase) quiesce() {
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	one := rc.live()
	for {
		idle := true
		for _, r := range rc.replicas {
			if r.dead {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := r.b.Settle(sctx)
			cancel()
			if err != nil || r.b.Generating() > 0 {
				idle = false
			}
		}
		keys, err := one.st.Outbox(ctx, 100)
		left, err2 := one.st.Unprocessed(ctx, 100)
		if idle && err == nil && err2 == nil && len(keys) == 0 && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			rc.t.Fatalf("no quiescence in 20 s: outbox %v, inbox %d entries, crisp:\n%s", keys, len(left), rc.dump())
		}
		time.Sleep(20 * time.Millisecond) // polls the shared store, bounded by the deadline
	}
}

func (rc *replicaCase) dump() string {
	rc.crisp.mu.Lock()
	defer rc.crisp.mu.Unlock()
	var b strings.Builder
	for _, m := range rc.crisp.sent {
		fmt.Fprintf(&b, "  %s %s %q fp=%d\n", m.session, m.typ, m.text, m.fp)
	}
	return b.String()
}

func (rc *replicaCase) check() {
	rc.crisp.mu.Lock()
	sent := append([]rmSent(nil), rc.crisp.sent...)
	rc.crisp.mu.Unlock()
	fps := map[int64]int{}
	answers := map[string]int{}
	for _, m := range sent {
		if fps[m.fp]++; fps[m.fp] == 2 {
			rc.t.Errorf("message posted twice (fingerprint %d): %s %q", m.fp, m.typ, m.text)
		}
		if strings.HasPrefix(m.text, "re:") {
			if answers[m.text]++; answers[m.text] == 2 {
				rc.t.Errorf("question answered twice: %q", m.text)
			}
		}
	}
	rc.model.mu.Lock()
	for _, q := range rc.asked {
		if answers["re:"+q] > 0 && rc.model.calls[q] > 1 && rc.model.delay == 0 {
			// With a fast model a takeover has no reason to write an answer again.
			rc.t.Errorf("question %q answered once but the model was called %d times", q, rc.model.calls[q])
		}
	}
	rc.model.mu.Unlock()
	ctx := context.Background()
	one := rc.live()
	for _, s := range rc.sessions {
		c, err := one.st.Load(ctx, bridge.Key{WebsiteID: "w", SessionID: s})
		if errors.Is(err, bridge.ErrNotFound) {
			continue
		}
		if err != nil {
			rc.t.Fatal(err)
		}
		if c.ReplyDue != 0 || len(c.Journal) != 0 {
			rc.t.Errorf("%s at quiescence: reply due %d, journal %+v", s, c.ReplyDue, c.Journal)
		}
	}
	if rc.t.Failed() {
		rc.t.Logf("crisp:\n%s", rc.dump())
	}
}

func (rc *replicaCase) closeAll() {
	for _, r := range rc.replicas {
		if !r.dead {
			_ = r.b.Close()
			_ = r.st.Close()
		}
	}
}
