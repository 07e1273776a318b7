package crisptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// HookStats counts hook deliveries.
type HookStats struct {
	Queued    int64 // events queued for delivery
	Delivered int64 // events delivered (a 2xx answer), duplicates counted once per copy
	Failed    int64 // events given up after the attempt limit
	Attempts  int64 // HTTP requests sent
	Pending   int64 // events queued or being delivered
}

// hookEnvelope is the plugin-hook body, in Crisp's field order.
type hookEnvelope struct {
	WebsiteID string          `json:"website_id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp int64           `json:"timestamp"`
}

// hookOrigin is sent as X-Crisp-Hook-Origin, in the format of Crisp's docs.
const hookOrigin = "plugin/rtm 38b411d9377a6a00 production"

// hookSender delivers events as web hooks through a fixed set of lanes; an event always goes to the
// lane of its conversation, so one conversation's deliveries (and their retries) keep their order.
type hookSender struct {
	s      *Server
	client *http.Client
	lanes  []*lane
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	url   string
	stats HookStats
}

type lane struct {
	mu    sync.Mutex
	queue []outEvent
	wake  chan struct{}
	room  chan struct{}
}

func newHookSender(s *Server) *hookSender {
	h := &hookSender{
		s:      s,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: s.opts.HookWorkers}},
		url:    s.opts.HookURL,
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for range s.opts.HookWorkers {
		l := &lane{wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
		h.lanes = append(h.lanes, l)
		h.wg.Add(1)
		go h.work(l)
	}
	return h
}

func (h *hookSender) close() {
	h.cancel()
	h.wg.Wait()
	h.client.CloseIdleConnections()
}

func (h *hookSender) target() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url
}

func (h *hookSender) count(f func(*HookStats)) {
	h.mu.Lock()
	f(&h.stats)
	h.mu.Unlock()
}

// enqueue queues ev when hooks are on; it blocks while the lane is full.
func (h *hookSender) enqueue(ev outEvent) {
	if h.target() == "" {
		return
	}
	f := fnv.New32a()
	f.Write([]byte(ev.website))
	f.Write([]byte{0})
	f.Write([]byte(ev.session))
	l := h.lanes[int(f.Sum32()%uint32(len(h.lanes)))]
	l.mu.Lock()
	for len(l.queue) >= h.s.opts.HookQueue {
		l.mu.Unlock()
		select {
		case <-l.room:
		case <-h.ctx.Done():
			return
		}
		l.mu.Lock()
	}
	l.queue = append(l.queue, ev)
	l.mu.Unlock()
	h.count(func(st *HookStats) { st.Queued++; st.Pending++ })
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (h *hookSender) work(l *lane) {
	defer h.wg.Done()
	for {
		faults := h.s.faults.hookFaults()
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			select {
			case <-l.wake:
				continue
			case <-h.ctx.Done():
				return
			}
		}
		n := 1
		if faults.ReorderWindow > 1 {
			n = min(faults.ReorderWindow, len(l.queue))
		}
		batch := append([]outEvent(nil), l.queue[:n]...)
		l.queue = l.queue[n:]
		if len(l.queue) == 0 {
			l.queue = nil // let the backing array go
		}
		l.mu.Unlock()
		select {
		case l.room <- struct{}{}:
		default:
		}
		for i := len(batch) - 1; i >= 0; i-- { // reversed: a no-op for a batch of one
			if h.ctx.Err() != nil {
				return
			}
			h.deliver(batch[i], faults)
			h.count(func(st *HookStats) { st.Pending-- })
			h.s.notify()
		}
	}
}

// deliver sends one event (twice when duplicating), retrying each copy up to the attempt limit.
func (h *hookSender) deliver(ev outEvent, f HookFaults) {
	body := marshalJS(hookEnvelope{WebsiteID: ev.website, Event: ev.name, Data: ev.data, Timestamp: ev.at})
	copies := 1
	if f.Duplicate {
		copies = 2
	}
	for range copies {
		if h.attempts(ev, body, f) {
			h.count(func(st *HookStats) { st.Delivered++ })
		} else {
			h.count(func(st *HookStats) { st.Failed++ })
		}
	}
}

// attempts delivers body with increasing X-Delivery-Attempt-Count until a 2xx answer or the limit.
func (h *hookSender) attempts(ev outEvent, body []byte, f HookFaults) bool {
	limit := h.s.opts.HookAttempts
	for attempt := 1; attempt <= limit; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(h.s.opts.HookRetryDelay * time.Duration(attempt-1))
			select {
			case <-t.C:
			case <-h.ctx.Done():
				t.Stop()
				return false
			}
		}
		if attempt == 1 && f.DropFirstAttempt {
			continue
		}
		err := h.post(body, attempt, limit)
		if attempt == 1 && f.FailFirstAttempt && err == nil {
			err = fmt.Errorf("first attempt failed by injection")
		}
		if err == nil {
			return true
		}
		h.s.log.Debug("hook delivery failed", "website", ev.website, "session", ev.session, "event", ev.name, "attempt", attempt, "err", err)
	}
	h.s.log.Warn("hook delivery given up", "website", ev.website, "session", ev.session, "event", ev.name, "attempts", limit)
	return false
}

// post sends one signed attempt.
func (h *hookSender) post(body []byte, attempt, limit int) error {
	target := h.target()
	if target == "" {
		return fmt.Errorf("hooks turned off")
	}
	if key := h.s.opts.WebsiteHookKey; key != "" {
		u, err := url.Parse(target)
		if err != nil {
			return fmt.Errorf("parse hook url: %w", err)
		}
		q := u.Query()
		q.Set("key", key)
		u.RawQuery = q.Encode()
		target = u.String()
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.s.opts.HookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("new hook request: %w", err)
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Crisp-Hooks (crisptest)")
	req.Header.Set("X-Crisp-Request-Timestamp", ts)
	if h.s.opts.HookSecret != "" {
		req.Header.Set("X-Crisp-Signature", Sign(h.s.opts.HookSecret, ts, body))
	}
	req.Header.Set("X-Crisp-Hook-Origin", hookOrigin)
	req.Header.Set("X-Delivery-Attempt-Limit", strconv.Itoa(limit))
	req.Header.Set("X-Delivery-Attempt-Count", strconv.Itoa(attempt))
	h.count(func(st *HookStats) { st.Attempts++ })
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("post hook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post hook: status %d", resp.StatusCode)
	}
	return nil
}

// SetHookURL turns hooks on (url) or off (""); events already queued go to the new target.
func (s *Server) SetHookURL(url string) {
	s.hooks.mu.Lock()
	s.hooks.url = url
	s.hooks.mu.Unlock()
}

// HookStats returns the hook delivery counters.
func (s *Server) HookStats() HookStats {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.stats
}

// WaitHooksIdle waits until no hook delivery is queued or in progress.
func (s *Server) WaitHooksIdle(ctx context.Context) error {
	return s.Wait(ctx, func(s *Server) bool { return s.HookStats().Pending == 0 })
}
