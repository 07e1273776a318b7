// Package crisptest is a fake Crisp: the REST API (/v1/), the RTM API (Socket.IO over WebSocket,
// Engine.IO 3 and 4, under /p/) and signed plugin web hooks, all speaking Crisp's real wire formats,
// over one conversation model driven by visitor and operator controls.
//
// Tests use it in-process (New, or Start for a loopback listener) and assert on conversation
// snapshots, the recorder of REST calls and the log of emitted events, waiting on conditions with
// Wait instead of sleeping. Faults (REST errors, latency, duplicated, reordered or failed hook
// deliveries, dropped RTM sockets) can be injected at run time. The demo sandbox drives the same
// server over the JSON API under /_sandbox/.
//
// Behaviour that Crisp does not document is marked UNCONFIRMED in the code; where it matters it is a
// switch in Options. The package is standalone: it does not import the adapter it tests.
package crisptest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a fake Crisp. The zero value is usable: no website is installed and hooks are off.
type Options struct {
	// Addr is the listen address of Start; default "127.0.0.1:0".
	Addr string
	// Identifier and Key are the accepted Basic-auth credentials, for the tiers "plugin" and
	// "website" (REST and RTM authentication).
	Identifier string
	Key        string
	// PluginID is answered by GET plugin/connect/account; default a fixed UUID.
	PluginID string
	// Websites are the website ids the plugin is installed on. Other websites answer 404
	// not_subscribed. AddWebsite installs more at run time.
	Websites []string
	// Operators are seeded on every website (offline unless Online is set). Default: one operator.
	Operators []Operator

	// HookURL is the plugin-hooks target; "" disables hooks. SetHookURL changes it at run time.
	HookURL string
	// HookSecret signs plugin hooks (X-Crisp-Signature). "" sends unsigned hooks.
	HookSecret string
	// HookAttempts is the delivery attempt limit (X-Delivery-Attempt-Limit); default 3.
	HookAttempts int
	// HookTimeout bounds one delivery attempt; default 5 s.
	HookTimeout time.Duration
	// HookRetryDelay is the delay before the second attempt; later attempts wait proportionally
	// longer (delay x attempt). Default 100 ms. UNCONFIRMED: Crisp's back-off schedule is not documented.
	HookRetryDelay time.Duration
	// HookWorkers is the number of delivery goroutines; events of one conversation always go through
	// the same worker, in order. Default 4.
	HookWorkers int
	// HookQueue bounds the deliveries waiting per worker; emitters block when it is full. Default 10000.
	HookQueue int
	// WebsiteHookKey switches hooks to website-hook mode: "?key=<WebsiteHookKey>" is added to the
	// URL (website hooks are authenticated by a secret URL parameter, not signed).
	WebsiteHookKey string

	// EmitUnchangedData makes a session-data write whose values equal the current ones emit
	// session:set_data anyway. Default false: an unchanged write emits nothing (UNCONFIRMED, see
	// DESIGN.md).
	EmitUnchangedData bool
	// IgnoreClientFingerprint makes a sent message get a fingerprint of Crisp's even when the body
	// supplies one. Default false: a client-supplied fingerprint is kept (UNCONFIRMED, see
	// crisp-protocol.md §1.4.1: the send route accepts one; what Crisp does with it is not said).
	IgnoreClientFingerprint bool
	// MergeMeta makes PATCH meta merge "data" keys and "segments" into the current ones. Default
	// false: the keys present replace the current map/list (UNCONFIRMED, see crisp-protocol.md §1.4).
	MergeMeta bool
	// KeepComposeOnMessage keeps the operator compose state when an operator message is posted.
	// Default false: a posted operator message clears it (UNCONFIRMED).
	KeepComposeOnMessage bool

	// RTMPingInterval, RTMPingTimeout and RTMAuthTimeout configure the RTM server; defaults are the
	// Socket.IO defaults (25 s, 20 s) and 10 s. UNCONFIRMED: Crisp's real values.
	RTMPingInterval time.Duration
	RTMPingTimeout  time.Duration
	RTMAuthTimeout  time.Duration

	// SandboxOrigins are the browser origins ("http://127.0.0.1:8080") besides the sandbox's own
	// that may drive /_sandbox/ (a demo page served from another origin): they get CORS headers.
	// Any other origin is refused; see sandboxGuard.
	SandboxOrigins []string

	// EventLog is how many emitted events are kept for Events, Subscribe and the sandbox; default 10000.
	EventLog int

	// Logger receives the fake's logs; default discards.
	Logger *slog.Logger
}

// DefaultOperator is the operator seeded on every website when Options.Operators is nil.
var DefaultOperator = Operator{
	UserID:   "a4c32c68-be91-4e29-8a05-976e93abbe3f",
	Nickname: "Alex Martin",
	Email:    "alex@example.com",
	Role:     "owner",
}

// Server is a fake Crisp. It is an http.Handler; Start also listens on a loopback port. All methods
// are safe for concurrent use.
type Server struct {
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	rest   *http.ServeMux
	hub    *rtmHub
	hooks  *hookSender
	ctx    context.Context
	cancel context.CancelFunc
	runID  string // random per server: a page sees from it that the sandbox restarted

	mu          sync.Mutex // guards the model: websites, conversations, fingerprints
	websites    map[string]*website
	lastFP      int64
	helpdeskSeq int // last helpdesk article id number

	emitMu sync.Mutex // held from the end of a model change until its events are published, so events keep order

	notifyMu sync.Mutex
	changed  chan struct{}

	logMu  sync.Mutex
	events []Event
	seq    int64

	recMu sync.Mutex
	calls []Call

	faults faults

	srv      *http.Server
	url      string
	wg       sync.WaitGroup
	closeOne sync.Once
}

// New returns a fake Crisp serving HTTP through ServeHTTP, without a listener. Call Close when done.
func New(opts Options) *Server {
	if opts.HookAttempts <= 0 {
		opts.HookAttempts = 3
	}
	if opts.HookTimeout <= 0 {
		opts.HookTimeout = 5 * time.Second
	}
	if opts.HookRetryDelay <= 0 {
		opts.HookRetryDelay = 100 * time.Millisecond
	}
	if opts.HookWorkers <= 0 {
		opts.HookWorkers = 4
	}
	if opts.HookQueue <= 0 {
		opts.HookQueue = 10000
	}
	if opts.RTMPingInterval <= 0 {
		opts.RTMPingInterval = 25 * time.Second
	}
	if opts.RTMPingTimeout <= 0 {
		opts.RTMPingTimeout = 20 * time.Second
	}
	if opts.RTMAuthTimeout <= 0 {
		opts.RTMAuthTimeout = 10 * time.Second
	}
	if opts.EventLog <= 0 {
		opts.EventLog = 10000
	}
	if opts.PluginID == "" {
		opts.PluginID = "c2c6ec3e-8d8e-4d2c-9b8b-2a6a6f0c1f00"
	}
	if opts.Operators == nil {
		opts.Operators = []Operator{DefaultOperator}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		websites: make(map[string]*website),
		changed:  make(chan struct{}),
		runID:    newRunID(),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, w := range opts.Websites {
		s.AddWebsite(w)
	}
	s.hub = newRTMHub(rtmConfig{
		Auth:         s.authorized,
		PingInterval: opts.RTMPingInterval,
		PingTimeout:  opts.RTMPingTimeout,
		AuthTimeout:  opts.RTMAuthTimeout,
		Logger:       opts.Logger.With("component", "crisptest-rtm"),
	})
	s.hooks = newHookSender(s)
	s.rest = s.restRoutes()
	s.mux = http.NewServeMux()
	s.mux.Handle("/v1/", http.HandlerFunc(s.serveREST))
	s.mux.Handle("/p/", s.hub)
	s.mux.Handle("/_sandbox/", s.sandboxRoutes())
	return s
}

// Start returns a fake Crisp listening on Options.Addr (default 127.0.0.1:0). Call Close when done.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen crisptest: %w", err)
	}
	s := New(opts)
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return s.ctx }}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// ServeHTTP serves the REST API under /v1/, RTM under /p/ and the sandbox under /_sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// RunID returns the server's random run id, new for every server: the sandbox's event stream and
// long poll carry it, so a page open across a restart notices the new run.
func (s *Server) RunID() string { return s.runID }

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// URL returns the base URL ("http://127.0.0.1:PORT") of a started server, "" for New.
func (s *Server) URL() string { return s.url }

// RESTURL returns the REST base URL, URL()+"/v1/".
func (s *Server) RESTURL() string { return s.url + "/v1/" }

// RTMURL returns the RTM socket URL advertised by GET plugin/connect/endpoints ("ws://HOST/p/1/").
func (s *Server) RTMURL() string { return "ws" + strings.TrimPrefix(s.url, "http") + rtmPath }

// rtmPath is where the RTM hub is advertised; the hub serves every path under /p/.
const rtmPath = "/p/1/"

// Close stops the listener, the RTM hub and the hook workers, and waits for all of them. Queued
// hook deliveries that were not attempted yet are discarded.
func (s *Server) Close() error {
	s.closeOne.Do(func() {
		s.cancel()
		s.notify()
		if s.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.srv.Shutdown(ctx); err != nil {
				s.srv.Close()
			}
			cancel()
		}
		s.hub.Close()
		s.hooks.close()
		s.wg.Wait()
	})
	return nil
}

// authorized reports whether the credentials are accepted for the tier.
func (s *Server) authorized(tier, username, password string) bool {
	if tier != "plugin" && tier != "website" {
		return false
	}
	u := hmac.Equal([]byte(username), []byte(s.opts.Identifier))
	p := hmac.Equal([]byte(password), []byte(s.opts.Key))
	return u && p
}

// Sign returns Crisp's hook signature: lowercase hex HMAC-SHA256, keyed with secret, over
// "[" + timestamp + ";" + body + "]".
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("[" + timestamp + ";"))
	m.Write(body)
	m.Write([]byte("]"))
	return hex.EncodeToString(m.Sum(nil))
}

// notify wakes every Wait.
func (s *Server) notify() {
	s.notifyMu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.notifyMu.Unlock()
}

func (s *Server) changedCh() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.changed
}

// ErrClosed is returned by Wait and the controls once the server is closed.
var ErrClosed = errors.New("crisptest: server closed")

// waitPoll bounds how long Wait goes without evaluating its condition, for state the fake is not
// notified about (RTM connections opening and closing).
const waitPoll = 20 * time.Millisecond

// Wait blocks until cond returns true, ctx ends or the server closes. cond is evaluated now, after
// every change (model, events, REST calls, hook deliveries) and at least every 20 ms; it may call
// any method of s.
func (s *Server) Wait(ctx context.Context, cond func(*Server) bool) error {
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for {
		ch := s.changedCh()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("wait: %w", ctx.Err())
		case <-s.ctx.Done():
			if cond(s) {
				return nil
			}
			return fmt.Errorf("wait: %w", ErrClosed)
		}
	}
}
