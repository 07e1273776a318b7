package crisp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/signalbridge/signalbridge/bridge"
)

// Defaults of RTMConfig.
const (
	DefaultReconnectMin     = time.Second
	DefaultReconnectMax     = 30 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
)

const (
	// rtmReadLimit caps one incoming frame; Crisp events are a few kilobytes.
	rtmReadLimit = 8 << 20
	// Socket.IO's defaults, used when an open packet leaves the heartbeat unset.
	rtmDefaultPingInterval = 25 * time.Second
	rtmDefaultPingTimeout  = 20 * time.Second
)

// RTMConfig configures an RTM client.
type RTMConfig struct {
	// URL is the RTM endpoint as Crisp advertises it (e.g. "wss://app.relay.crisp.chat/p/68/");
	// setting it skips discovery. Schemes ws, wss, http and https are accepted.
	URL string
	// Discover returns the RTM endpoint, typically from GET plugin/connect/endpoints (the REST
	// client). It is called before the first connection and again after a failed attempt.
	Discover func(ctx context.Context) (string, error)
	// EIO is the Engine.IO protocol revision: 4 (default, Socket.IO v3+) or 3 (Socket.IO v2).
	EIO int
	// Tier, Identifier and Key are the token sent in the authentication payload. Tier defaults to
	// "plugin".
	Tier, Identifier, Key string
	// Events are the subscribed event names; default SubscribedEvents.
	Events []string
	// Rooms optionally restricts events to these website ids ("rooms" in the payload).
	Rooms []string
	// ReconnectMin and ReconnectMax bound the jittered exponential back-off between connection
	// attempts (defaults DefaultReconnectMin and DefaultReconnectMax).
	ReconnectMin, ReconnectMax time.Duration
	// HandshakeTimeout bounds discovery, dial, Engine.IO open, Socket.IO connect and authentication
	// of one attempt, and every write (default DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// Logger receives connection logs; nil discards them. Event bodies are never logged.
	Logger *slog.Logger
	// OnState, when set, is called with true once a connection is authenticated and with false when
	// that connection ends. It is called from Run's goroutine and must not block.
	OnState func(connected bool)
	// OnConnect, when set, is called once a connection is authenticated, before any of its events is
	// read: reconnect is false for Run's first authenticated connection and true for every later one.
	// Events emitted while no socket was up are never replayed by Crisp, so this is where a REST
	// catch-up starts. It is called from Run's goroutine and must not block.
	OnConnect func(ctx context.Context, reconnect bool)
}

// RTM is a Crisp RTM API client: Socket.IO over a WebSocket, Engine.IO revision 4 or 3. Run owns the
// connection: it connects, authenticates, delivers events and reconnects until its context ends.
type RTM struct {
	cfg    RTMConfig
	handle func(ctx context.Context, ev bridge.Event)
	log    *slog.Logger
	auth   []byte // the authentication frame; holds the key, never logged

	running    atomic.Bool
	connected  atomic.Bool
	reconnects atomic.Int64
	authed     atomic.Int64 // authenticated connections so far
}

// NewRTM validates cfg, applies its defaults and returns a client that passes every handled event to
// handle. handle is called sequentially, in arrival order, from Run's goroutine; it should return
// promptly (hand the event over, as bridge.HandleEvent does), because frames are not read while it
// runs. Nothing connects before Run.
func NewRTM(cfg RTMConfig, handle func(ctx context.Context, ev bridge.Event)) (*RTM, error) {
	if handle == nil {
		return nil, errors.New("new rtm: nil handler")
	}
	if cfg.URL == "" && cfg.Discover == nil {
		return nil, errors.New("new rtm: neither URL nor Discover set")
	}
	if cfg.URL != "" {
		if _, err := rtmWebSocketURL(cfg.URL, 4); err != nil {
			return nil, fmt.Errorf("new rtm: %w", err)
		}
	}
	switch cfg.EIO {
	case 0:
		cfg.EIO = 4
	case 3, 4:
	default:
		return nil, fmt.Errorf("new rtm: unsupported EIO %d (want 3 or 4)", cfg.EIO)
	}
	if cfg.Tier == "" {
		cfg.Tier = "plugin"
	}
	if cfg.Identifier == "" || cfg.Key == "" {
		return nil, errors.New("new rtm: identifier and key are required")
	}
	if cfg.Events == nil {
		cfg.Events = SubscribedEvents
	}
	if len(cfg.Events) == 0 {
		return nil, errors.New("new rtm: empty event list")
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = DefaultReconnectMin
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = DefaultReconnectMax
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		return nil, fmt.Errorf("new rtm: ReconnectMax %v below ReconnectMin %v", cfg.ReconnectMax, cfg.ReconnectMin)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	type authPayload struct {
		Tier     string   `json:"tier"`
		Username string   `json:"username"`
		Password string   `json:"password"`
		Events   []string `json:"events"`
		Rooms    []string `json:"rooms,omitempty"`
	}
	auth, err := eioEventFrame("authentication", authPayload{
		Tier: cfg.Tier, Username: cfg.Identifier, Password: cfg.Key, Events: cfg.Events, Rooms: cfg.Rooms,
	})
	if err != nil {
		return nil, fmt.Errorf("new rtm: %w", err)
	}
	return &RTM{cfg: cfg, handle: handle, log: log, auth: auth}, nil
}

// Connected reports whether an authenticated connection is up.
func (r *RTM) Connected() bool { return r.connected.Load() }

// Reconnects returns how many connection attempts Run made after its first one.
func (r *RTM) Reconnects() int64 { return r.reconnects.Load() }

// Run connects and delivers events until ctx ends, then closes the connection and returns nil once
// every goroutine it started has finished. A lost or failed connection is retried after a jittered
// exponential back-off between ReconnectMin and ReconnectMax (reset by every authenticated
// connection); with Discover set, the endpoint is discovered again after an attempt that failed
// before authenticating. Run returns an error wrapping ErrUnauthorized as soon as Crisp rejects the
// credentials: a rejected token does not fix itself, so the caller decides (log, mark unready, exit).
// Run must not be called concurrently with itself.
func (r *RTM) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("rtm run: already running")
	}
	defer r.running.Store(false)

	wsURL, lastURL := "", ""
	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			delay := rtmBackoff(r.cfg.ReconnectMin, r.cfg.ReconnectMax, failures)
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			r.reconnects.Add(1)
		}
		if wsURL == "" {
			u, err := r.endpoint(ctx)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil && lastURL == "":
				r.log.Warn("rtm endpoint discovery failed", "err", err, "attempt", attempt)
				failures++
				continue
			case err != nil:
				r.log.Warn("rtm endpoint discovery failed, using the previous endpoint", "err", err)
				u = lastURL
			}
			wsURL, lastURL = u, u
		}
		authed, err := r.session(ctx, wsURL)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrUnauthorized) {
			r.log.Error("rtm credentials rejected", "err", err)
			return fmt.Errorf("rtm run: %w", err)
		}
		if authed {
			failures = 0
			r.log.Warn("rtm connection lost", "err", err)
		} else {
			failures++
			if r.cfg.Discover != nil {
				wsURL = "" // the endpoint may have moved
			}
			r.log.Warn("rtm connection failed", "err", err, "failures", failures)
		}
	}
}

// endpoint returns the WebSocket URL to dial, discovering the RTM endpoint when no URL is configured.
func (r *RTM) endpoint(ctx context.Context) (string, error) {
	raw := r.cfg.URL
	if raw == "" {
		dctx, cancel := context.WithTimeout(ctx, r.cfg.HandshakeTimeout)
		defer cancel()
		var err error
		if raw, err = r.cfg.Discover(dctx); err != nil {
			return "", fmt.Errorf("discover rtm endpoint: %w", err)
		}
	}
	return rtmWebSocketURL(raw, r.cfg.EIO)
}

// rtmWebSocketURL turns an advertised RTM endpoint into the URL to dial: its origin and path (with a
// trailing slash, as socket.io-client adds one) and the Engine.IO query. Crisp serves Socket.IO at the
// advertised path, not at /socket.io/.
func rtmWebSocketURL(raw string, eio int) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("rtm endpoint %q: %w", raw, err)
	}
	switch u.Scheme {
	case "wss", "https":
		u.Scheme = "wss"
	case "ws", "http":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("rtm endpoint %q: scheme must be ws, wss, http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("rtm endpoint %q: no host", raw)
	}
	path := u.EscapedPath()
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return u.Scheme + "://" + u.Host + path + "?EIO=" + strconv.Itoa(eio) + "&transport=websocket", nil
}

// rtmBackoff returns the delay before the next attempt after failures consecutive failures: an
// exponential step from min to max, drawn uniformly from its upper half.
func rtmBackoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for i := 0; i < failures && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// rtmSession is one WebSocket connection. The goroutine running session reads; its watchdog
// goroutine owns the heartbeat timers and closes the connection on a dead heartbeat or when the
// context ends. Both write, under writeMu.
type rtmSession struct {
	r       *RTM
	ws      *websocket.Conn
	writeMu sync.Mutex

	beat   chan struct{}   // the reader saw a server ping (EIO4) or pong (EIO3)
	start  chan rtmBeating // the heartbeat parameters, once the open packet is read
	done   chan struct{}   // closed when the reader is finished
	busy   atomic.Bool     // the reader is inside handle
	killed atomic.Pointer[error]
}

// rtmBeating are the heartbeat parameters from the open packet.
type rtmBeating struct {
	interval, timeout time.Duration
}

// errDeadHeartbeat is the cause of a connection closed by the watchdog.
var errDeadHeartbeat = errors.New("heartbeat lost")

// session runs one connection until it fails or ctx ends. authed tells whether it got as far as an
// authenticated connection.
func (r *RTM) session(ctx context.Context, wsURL string) (authed bool, err error) {
	ws, err := r.dial(ctx, wsURL)
	if err != nil {
		return false, err
	}
	ws.SetReadLimit(rtmReadLimit)
	s := &rtmSession{
		r: r, ws: ws,
		beat:  make(chan struct{}, 1),
		start: make(chan rtmBeating, 1),
		done:  make(chan struct{}),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go s.watch(ctx, &wg)
	defer func() {
		ws.Close() // first, so that a watchdog write in progress fails at once
		close(s.done)
		wg.Wait()
		if authed {
			r.connected.Store(false)
			if r.cfg.OnState != nil {
				r.cfg.OnState(false)
			}
		}
	}()

	sid, err := s.handshake()
	if err != nil {
		return false, err
	}
	authed = true
	r.connected.Store(true)
	if r.cfg.OnState != nil {
		r.cfg.OnState(true)
	}
	if n := r.authed.Add(1); r.cfg.OnConnect != nil {
		r.cfg.OnConnect(ctx, n > 1)
	}
	r.log.Info("rtm connected", "url", rtmRedact(wsURL), "eio", r.cfg.EIO, "sid", sid)
	return true, s.read(ctx)
}

// dial opens the WebSocket. gorilla/websocket honours only the deadline of the dial context during
// the HTTP upgrade, not its cancellation, so cancellation closes the TCP connection underneath.
func (r *RTM) dial(ctx context.Context, wsURL string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, r.cfg.HandshakeTimeout)
	defer cancel()
	var (
		mu      sync.Mutex
		raw     net.Conn
		aborted bool
	)
	d := websocket.Dialer{
		HandshakeTimeout: r.cfg.HandshakeTimeout,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			if aborted {
				c.Close()
				return nil, context.Canceled
			}
			raw = c
			return c, nil
		},
	}
	ran := make(chan struct{})
	stop := context.AfterFunc(dctx, func() {
		defer close(ran)
		mu.Lock()
		defer mu.Unlock()
		aborted = true
		if raw != nil {
			raw.Close()
		}
	})
	ws, resp, err := d.DialContext(dctx, wsURL, nil)
	if !stop() {
		<-ran // the context ended during the dial: wait for the closer, which may have hit ws
		if err == nil {
			ws.Close()
			err = dctx.Err()
		}
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (http status %d)", rtmRedact(wsURL), err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", rtmRedact(wsURL), err)
	}
	return ws, nil
}

// handshake reads the open packet, joins the default namespace and authenticates, all within
// HandshakeTimeout. It returns the Engine.IO session id.
func (s *rtmSession) handshake() (string, error) {
	r := s.r
	if err := s.ws.SetReadDeadline(time.Now().Add(r.cfg.HandshakeTimeout)); err != nil {
		return "", fmt.Errorf("handshake: %w", err)
	}
	f, err := s.next()
	if err != nil {
		return "", fmt.Errorf("read open packet: %w", err)
	}
	if f.typ != eioOpen {
		return "", fmt.Errorf("read open packet: got engine.io type %q", f.typ)
	}
	var open eioOpenInfo
	if err := json.Unmarshal(f.data, &open); err != nil {
		return "", fmt.Errorf("read open packet: %w", err)
	}
	s.start <- rtmBeating{
		interval: rtmMillis(open.PingInterval, rtmDefaultPingInterval),
		timeout:  rtmMillis(open.PingTimeout, rtmDefaultPingTimeout),
	}

	// EIO4 clients join the default namespace explicitly; an EIO3 server joins them by itself and
	// says so with "40" (Socket.IO v3+ servers with allowEIO3 do; UNCONFIRMED for Crisp, whose Go
	// library authenticates on the open packet without waiting for it).
	if r.cfg.EIO == 4 {
		if err := s.write([]byte{eioMessage, sioConnect}); err != nil {
			return "", fmt.Errorf("connect namespace: %w", err)
		}
	}
	for {
		f, err := s.next()
		if err != nil {
			return "", fmt.Errorf("connect namespace: %w", err)
		}
		if f.typ != eioMessage {
			continue
		}
		if f.sio == sioConnect {
			break
		}
		if f.sio == sioConnectError {
			return "", fmt.Errorf("connect namespace: refused: %s", rtmSnippet(f.payload))
		}
	}

	if err := s.write(r.auth); err != nil {
		return "", fmt.Errorf("authenticate: %w", err)
	}
	for {
		f, err := s.next()
		if err != nil {
			return "", fmt.Errorf("authenticate: %w", err)
		}
		if f.typ != eioMessage {
			continue
		}
		switch f.sio {
		case sioDisconnect:
			return "", errors.New("authenticate: server disconnected")
		case sioEvent:
		default:
			continue
		}
		name, arg, err := f.event()
		if err != nil {
			return "", fmt.Errorf("authenticate: %w", err)
		}
		switch name {
		case "authenticated":
			// Anything but a literal true is a refusal (UNCONFIRMED: Crisp is only seen sending true;
			// go-crisp-api decodes a bool).
			if string(arg) != "true" {
				return "", fmt.Errorf("authenticate: %w: authenticated %s", ErrUnauthorized, rtmSnippet(arg))
			}
			if err := s.ws.SetReadDeadline(time.Time{}); err != nil {
				return "", fmt.Errorf("authenticate: %w", err)
			}
			return open.SID, nil
		case "unauthorized":
			return "", fmt.Errorf("authenticate: %w: %s", ErrUnauthorized, rtmUnauthorizedMessage(arg))
		default:
			// Crisp is silent until authenticated (RTM quickstart); anything earlier is not ours.
			r.log.Debug("rtm event before authentication ignored", "event", name)
		}
	}
}

// read delivers events until the connection fails.
func (s *rtmSession) read(ctx context.Context) error {
	for {
		f, err := s.next()
		if err != nil {
			return err
		}
		if f.typ != eioMessage {
			continue
		}
		switch f.sio {
		case sioEvent:
			if err := s.dispatch(ctx, &f); err != nil {
				return err
			}
		case sioDisconnect:
			return errors.New("server disconnected the namespace")
		case sioConnectError:
			return fmt.Errorf("server refused the namespace: %s", rtmSnippet(f.payload))
		default:
			// acks and binary packets (whose attachments arrive as binary frames) carry nothing we use
			s.r.log.Debug("rtm packet ignored", "type", string(f.sio))
		}
	}
}

// dispatch decodes one event and hands it over. Only "unauthorized" is fatal: after authentication it
// can only mean a revoked token (UNCONFIRMED that Crisp ever sends it then).
func (s *rtmSession) dispatch(ctx context.Context, f *eioFrame) error {
	r := s.r
	name, arg, err := f.event()
	if err != nil {
		r.log.Warn("rtm event skipped", "err", err, "bytes", len(f.payload))
		return nil
	}
	if name == "unauthorized" {
		return fmt.Errorf("%w: %s", ErrUnauthorized, rtmUnauthorizedMessage(arg))
	}
	if !Handled(name) {
		r.log.Debug("rtm event ignored", "event", name)
		return nil
	}
	ev, err := DecodeEvent(name, arg, bridge.ViaRTM, "")
	if err != nil {
		r.log.Warn("rtm malformed event skipped", "event", name, "err", err, "bytes", len(arg))
		return nil
	}
	s.busy.Store(true)
	r.handle(ctx, ev)
	s.busy.Store(false)
	return nil
}

// next reads frames until one the caller must see (an open packet or a Socket.IO packet on the
// default namespace), answering and noting heartbeats on the way. Binary frames, unparsable frames,
// noops, upgrades and other namespaces are skipped.
func (s *rtmSession) next() (eioFrame, error) {
	for {
		typ, b, err := s.ws.ReadMessage()
		if err != nil {
			if p := s.killed.Load(); p != nil && *p != nil {
				return eioFrame{}, *p
			}
			return eioFrame{}, fmt.Errorf("read: %w", err)
		}
		if typ != websocket.TextMessage {
			s.r.log.Debug("rtm binary frame ignored", "bytes", len(b))
			continue
		}
		f, err := parseFrame(b)
		if err != nil {
			s.r.log.Warn("rtm frame skipped", "err", err, "bytes", len(b))
			continue
		}
		switch f.typ {
		case eioOpen:
			return f, nil
		case eioMessage:
			if f.nsp == "/" {
				return f, nil
			}
		case eioPing:
			if s.r.cfg.EIO == 4 {
				if err := s.write(append([]byte{eioPong}, f.data...)); err != nil {
					return eioFrame{}, fmt.Errorf("answer ping: %w", err)
				}
				s.noteBeat()
			}
		case eioPong:
			if s.r.cfg.EIO == 3 {
				s.noteBeat()
			}
		case eioClose:
			return eioFrame{}, errors.New("server closed the connection")
		}
	}
}

func (s *rtmSession) noteBeat() {
	select {
	case s.beat <- struct{}{}:
	default:
	}
}

// write sends one text frame.
func (s *rtmSession) write(b []byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.ws.SetWriteDeadline(time.Now().Add(s.r.cfg.HandshakeTimeout)); err != nil {
		return err
	}
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// kill records why the connection is being closed and closes it, which ends the reader.
func (s *rtmSession) kill(cause error) {
	s.killed.CompareAndSwap(nil, &cause)
	s.ws.Close()
}

// watch is the watchdog. EIO4: the server pings every interval and the connection is dead when no
// ping arrives within interval+timeout. EIO3: we ping every interval and the connection is dead when
// the pong does not come within timeout. A deadline that falls while handle runs is extended by
// timeout: the missing frame may be waiting, unread, behind the event being handled.
func (s *rtmSession) watch(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	var (
		hb       rtmBeating
		deadline = time.NewTimer(time.Hour)
		ticker   = time.NewTicker(time.Hour)
		beat     <-chan struct{}  // nil until the open packet: a beat needs the parameters
		tick     <-chan time.Time // EIO3 ping ticks, nil until the open packet
		due      <-chan time.Time // the heartbeat deadline, nil while none is pending
		waiting  bool             // EIO3: a ping awaits its pong
	)
	defer deadline.Stop()
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			s.closeGracefully()
			return
		case <-s.done:
			return
		case hb = <-s.start:
			beat = s.beat
			if s.r.cfg.EIO == 4 {
				deadline.Reset(hb.interval + hb.timeout)
				due = deadline.C
			} else {
				ticker.Reset(hb.interval)
				tick = ticker.C
			}
		case <-beat:
			if s.r.cfg.EIO == 4 {
				deadline.Reset(hb.interval + hb.timeout)
			} else {
				waiting = false
				deadline.Stop()
				due = nil
			}
		case <-tick:
			if err := s.write([]byte{eioPing}); err != nil {
				s.kill(fmt.Errorf("send ping: %w", err))
				return
			}
			if !waiting {
				waiting = true
				deadline.Reset(hb.timeout)
				due = deadline.C
			}
		case <-due:
			if s.busy.Load() {
				deadline.Reset(hb.timeout)
				continue
			}
			if s.r.cfg.EIO == 4 {
				s.kill(fmt.Errorf("%w: no ping within %v", errDeadHeartbeat, hb.interval+hb.timeout))
			} else {
				s.kill(fmt.Errorf("%w: no pong within %v", errDeadHeartbeat, hb.timeout))
			}
			return
		}
	}
}

// closeGracefully tells the server we leave, then closes the connection.
func (s *rtmSession) closeGracefully() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(100*time.Millisecond))
	s.kill(context.Canceled)
}

func rtmMillis(ms int64, def time.Duration) time.Duration {
	if ms <= 0 || ms > int64(time.Hour/time.Millisecond) {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

// rtmRedact drops the query of a URL for logs.
func rtmRedact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// rtmUnauthorizedMessage extracts the message of an "unauthorized" event ({"message": "..."}).
func rtmUnauthorizedMessage(arg json.RawMessage) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(arg, &m) == nil && m.Message != "" {
		return m.Message
	}
	return rtmSnippet(arg)
}

// rtmSnippet returns a short, printable prefix of a server-provided payload for an error message.
func rtmSnippet(b []byte) string {
	const limit = 120
	if len(b) > limit {
		b = b[:limit]
	}
	return strconv.Quote(string(b))
}
