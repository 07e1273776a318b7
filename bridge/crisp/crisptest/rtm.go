package crisptest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults for the zero values of rtmConfig. The ping numbers are Socket.IO's defaults; Crisp's
// real values are UNCONFIRMED (crisp-protocol.md §2.3), and so is its auth timeout (§2.4).
const (
	defaultPingInterval = 25 * time.Second
	defaultPingTimeout  = 20 * time.Second
	defaultAuthTimeout  = 10 * time.Second

	rtmMaxPayload       = 1_000_000 // bytes; advertised as maxPayload to EIO4 clients and enforced on reads
	defaultRTMQueueSize = 4096      // frames buffered per socket before a slow consumer is dropped
)

// rtmConfig configures an rtmHub. Zero durations get the defaults above.
type rtmConfig struct {
	// Auth decides an `authentication` payload; nil accepts every token.
	Auth         func(tier, username, password string) bool
	PingInterval time.Duration
	PingTimeout  time.Duration
	// AuthTimeout closes sockets that have not authenticated successfully in time.
	AuthTimeout time.Duration
	Logger      *slog.Logger

	queueSize int // frames buffered per socket; 0 means defaultRTMQueueSize (tests shrink it)
}

// rtmHub is the fake Crisp's RTM endpoint: a Socket.IO server on gorilla/websocket speaking
// Engine.IO 3 and 4 over the websocket transport (text frames only), with Crisp's
// `authentication` handshake, per-socket event subscriptions and website rooms.
//
// Mount it at the path advertised by `plugin/connect/endpoints` (e.g. /p/1/). It owns every
// goroutine it starts, including the reading loop that runs inside ServeHTTP; Close waits for them.
type rtmHub struct {
	cfg      rtmConfig
	log      *slog.Logger
	upgrader websocket.Upgrader

	// observe, when set before serving, is called after the hub handled a client packet:
	// what is the Socket.IO event name ("authentication", "socket:bind:push", ...), "ping" or "pong".
	// Tests use it as a barrier instead of sleeping.
	observe func(sid, what string)

	mu      sync.Mutex
	conns   map[*rtmConn]struct{}
	closed  bool
	down    bool           // an outage: new connections are refused
	refused int64          // connection attempts refused by an outage
	wg      sync.WaitGroup // ServeHTTP calls past the upgrade and their writer goroutines
}

// newRTMHub returns a hub ready to serve; it needs no Open.
func newRTMHub(cfg rtmConfig) *rtmHub {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = defaultPingInterval
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = defaultPingTimeout
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = defaultAuthTimeout
	}
	if cfg.queueSize <= 0 {
		cfg.queueSize = defaultRTMQueueSize
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &rtmHub{
		cfg: cfg,
		log: log,
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			// Crisp's relay is reached from servers and browsers alike; the fake checks no Origin.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		conns: make(map[*rtmConn]struct{}),
	}
}

// ServeHTTP upgrades an Engine.IO websocket request (`?EIO=3|4&transport=websocket`) and serves
// the socket until it closes. Other requests get Engine.IO's JSON error bodies with status 400.
func (h *rtmHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var eio int
	switch q.Get("EIO") {
	case "3":
		eio = 3
	case "4":
		eio = 4
	default:
		rtmEngineIOError(w, http.StatusBadRequest, 5, "Unsupported protocol version")
		return
	}
	if q.Get("transport") != "websocket" {
		// Crisp's clients never poll (crisp-protocol.md §2.2), so neither does the fake.
		rtmEngineIOError(w, http.StatusBadRequest, 0, "Transport unknown")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		rtmEngineIOError(w, http.StatusBadRequest, 3, "Bad request")
		return
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		rtmEngineIOError(w, http.StatusServiceUnavailable, 4, "Server closed")
		return
	}
	if h.down {
		h.refused++
		h.mu.Unlock()
		rtmEngineIOError(w, http.StatusServiceUnavailable, 4, "Service unavailable")
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.log.Debug("rtm upgrade failed", "err", err) // the upgrader already answered
		return
	}
	c := &rtmConn{
		hub:   h,
		ws:    ws,
		eio:   eio,
		sid:   rtmNewSID(),
		queue: make(chan rtmFrame, h.cfg.queueSize),
		pong:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	c.log = h.log.With("sid", c.sid, "eio", eio)

	h.mu.Lock()
	if h.closed || h.down {
		h.mu.Unlock()
		_ = ws.Close()
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	c.log.Debug("rtm socket opened", "remote", r.RemoteAddr)

	go func() {
		defer h.wg.Done()
		c.writeLoop()
	}()
	c.readLoop()
	c.close("read loop ended")

	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// Publish delivers the event `42["<event>",<data>]` to every authenticated socket subscribed to
// event whose rooms (when it gave any) include websiteID. data is the compact JSON of the event
// data object. Publish never blocks on a socket: one whose queue is full is dropped.
//
// An empty websiteID marks an event that belongs to no website (e.g. plugin events); it reaches
// sockets regardless of their rooms (UNCONFIRMED: how Crisp scopes such events).
func (h *rtmHub) Publish(websiteID, event string, data []byte) {
	if event == "" || !json.Valid(data) {
		h.log.Error("rtm publish rejected: empty event name or invalid JSON data", "event", event, "website", websiteID)
		return
	}
	var frame []byte // built on first delivery
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		sub := c.sub.Load()
		if sub == nil || !sub.wants(websiteID, event) {
			continue
		}
		if frame == nil {
			frame = sioEventFrame(event, data)
		}
		c.send(rtmFrame{data: frame})
	}
}

// DropAll closes every connection abruptly, without a close frame, as a network failure would.
// The hub keeps accepting new connections.
func (h *rtmHub) DropAll() {
	h.mu.Lock()
	conns := make([]*rtmConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close("dropped by fault injection")
	}
	h.log.Info("rtm sockets dropped", "count", len(conns))
}

// SetDown starts or ends an outage. Starting one drops every connection; while it lasts, new
// connections are refused with 503.
func (h *rtmHub) SetDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
	if down {
		h.DropAll()
	}
}

// Refused returns how many connection attempts outages refused.
func (h *rtmHub) Refused() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

// Connections reports the number of open, authenticated sockets.
func (h *rtmHub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.conns {
		if c.sub.Load() != nil && !c.isClosed() {
			n++
		}
	}
	return n
}

// Close closes every socket, refuses new ones and waits for all of the hub's goroutines.
// It is safe to call more than once.
func (h *rtmHub) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*rtmConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close("hub closed")
	}
	h.wg.Wait()
}

// rtmSubscription is what an authenticated socket receives; it is immutable once stored.
type rtmSubscription struct {
	events map[string]struct{}
	rooms  map[string]struct{} // nil: every website
}

func (s *rtmSubscription) wants(websiteID, event string) bool {
	if _, ok := s.events[event]; !ok {
		return false
	}
	if s.rooms == nil || websiteID == "" {
		return true
	}
	_, ok := s.rooms[websiteID]
	return ok
}

// with returns a copy of s whose events are changed by edit.
func (s *rtmSubscription) with(edit func(events map[string]struct{})) *rtmSubscription {
	events := make(map[string]struct{}, len(s.events))
	for e := range s.events {
		events[e] = struct{}{}
	}
	edit(events)
	return &rtmSubscription{events: events, rooms: s.rooms}
}

// rtmFrame is one queued text frame; closeAfter ends the socket cleanly once it is written.
type rtmFrame struct {
	data       []byte
	closeAfter bool
}

// rtmConn is one Engine.IO socket. The read loop (in ServeHTTP) handles client packets; the
// write loop is the only writer of data frames and runs the heartbeat and auth timers.
type rtmConn struct {
	hub *rtmHub
	ws  *websocket.Conn
	eio int
	sid string
	log *slog.Logger

	sub   atomic.Pointer[rtmSubscription] // nil until authenticated
	queue chan rtmFrame
	pong  chan struct{} // EIO4: a pong arrived

	// Touched by the read loop only. EIO4 sockets must CONNECT ("40") first; a refused socket
	// ignores everything until its "unauthorized" frame is flushed and it is closed.
	sioConnected bool
	refused      bool

	closeOnce sync.Once
	done      chan struct{}
}

// send queues f without blocking; a full queue means a consumer too slow to keep, so it is dropped.
func (c *rtmConn) send(f rtmFrame) {
	select {
	case <-c.done:
	case c.queue <- f:
	default:
		c.log.Warn("rtm socket dropped: send queue full", "queue", cap(c.queue))
		c.close("send queue full")
	}
}

// close closes the socket abruptly (no close frame); it is idempotent and safe from any goroutine.
func (c *rtmConn) close(reason string) {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
		c.log.Debug("rtm socket closed", "reason", reason)
	})
}

func (c *rtmConn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *rtmConn) observe(what string) {
	if f := c.hub.observe; f != nil {
		f(c.sid, what)
	}
}

// eioOpenPacket is the Engine.IO handshake body; maxPayload exists since EIO4.
type eioOpenPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload,omitempty"`
}

func (c *rtmConn) writeLoop() {
	cfg := c.hub.cfg
	open := eioOpenPacket{
		SID:          c.sid,
		Upgrades:     []string{},
		PingInterval: cfg.PingInterval.Milliseconds(),
		PingTimeout:  cfg.PingTimeout.Milliseconds(),
	}
	if c.eio == 4 {
		open.MaxPayload = rtmMaxPayload
	}
	body, _ := json.Marshal(open) // plain struct, cannot fail
	if !c.write(append([]byte{eioOpen}, body...)) {
		return
	}
	if c.eio == 3 {
		// An EIO3 (Socket.IO v2) client is joined to "/" by the server without asking.
		if !c.write([]byte{eioMessage, sioConnect}) {
			return
		}
	}

	authTimer := time.NewTimer(cfg.AuthTimeout)
	defer authTimer.Stop()

	// EIO4: the server pings every PingInterval and expects a pong within PingTimeout.
	// EIO3: the client pings and the read deadline enforces liveness; no timers here.
	var pingC, pongDeadlineC <-chan time.Time
	var pingTimer, pongTimer *time.Timer
	if c.eio == 4 {
		pingTimer = time.NewTimer(cfg.PingInterval)
		defer pingTimer.Stop()
		pingC = pingTimer.C
		pongTimer = time.NewTimer(time.Hour)
		pongTimer.Stop()
		defer pongTimer.Stop()
	}

	for {
		select {
		case <-c.done:
			return
		case f := <-c.queue:
			if !c.write(f.data) {
				return
			}
			if f.closeAfter {
				deadline := time.Now().Add(time.Second)
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
				c.close("closed by server")
				return
			}
		case <-authTimer.C:
			if c.sub.Load() == nil {
				c.log.Info("rtm socket closed: no authentication in time", "timeout", cfg.AuthTimeout)
				c.close("auth timeout")
				return
			}
		case <-pingC:
			if !c.write([]byte{eioPing}) {
				return
			}
			pongTimer.Reset(cfg.PingTimeout)
			pongDeadlineC = pongTimer.C
		case <-c.pong:
			if pongDeadlineC != nil {
				pongTimer.Stop()
				pongDeadlineC = nil
				pingTimer.Reset(cfg.PingInterval)
			}
		case <-pongDeadlineC:
			c.log.Info("rtm socket closed: ping timeout", "timeout", cfg.PingTimeout)
			c.close("ping timeout")
			return
		}
	}
}

// write writes one text frame; a client that cannot take it within PingTimeout is dead.
func (c *rtmConn) write(b []byte) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.hub.cfg.PingTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.close("write: " + err.Error())
		return false
	}
	return true
}

func (c *rtmConn) readLoop() {
	cfg := c.hub.cfg
	c.ws.SetReadLimit(rtmMaxPayload)
	for {
		if c.eio == 3 {
			// EIO3 liveness: the client pings every pingInterval; silence beyond interval+timeout kills.
			_ = c.ws.SetReadDeadline(time.Now().Add(cfg.PingInterval + cfg.PingTimeout))
		}
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if c.eio == 3 && rtmIsTimeout(err) {
				c.log.Info("rtm socket closed: client silent", "timeout", cfg.PingInterval+cfg.PingTimeout)
			}
			return
		}
		if typ != websocket.TextMessage {
			c.log.Info("rtm socket closed: binary frames are not supported")
			return
		}
		p, err := parsePacket(data)
		if err != nil {
			c.log.Info("rtm socket closed: unparsable frame", "err", err)
			return
		}
		if !c.handle(p) {
			return
		}
	}
}

// handle acts on one client packet and reports whether to keep reading.
func (c *rtmConn) handle(p eioPacket) bool {
	switch p.eio {
	case eioClose:
		return false
	case eioPing:
		if c.eio == 3 {
			c.send(rtmFrame{data: append([]byte{eioPong}, p.data...)})
		}
		c.observe("ping")
		// An EIO4 client never pings on a websocket-only transport; ignore it like engine.io does.
	case eioPong:
		if c.eio == 4 {
			select {
			case c.pong <- struct{}{}:
			default:
			}
		}
		c.observe("pong")
	case eioMessage:
		return c.handleSocketIO(p)
	case eioUpgrade, eioNoop:
	default: // an open packet from a client
		c.log.Info("rtm socket closed: unexpected engine.io packet", "type", string(p.eio))
		return false
	}
	return true
}

func (c *rtmConn) handleSocketIO(p eioPacket) bool {
	if p.nsp != "/" {
		// Crisp serves only the root namespace.
		msg, _ := json.Marshal(map[string]string{"message": "Invalid namespace"})
		if c.eio == 3 {
			msg, _ = json.Marshal("Invalid namespace")
		}
		c.send(rtmFrame{data: appendPacket(nil, eioPacket{eio: eioMessage, sio: sioConnectError, nsp: p.nsp, id: -1, payload: msg})})
		return true
	}
	if c.refused {
		return true
	}
	switch p.sio {
	case sioConnect:
		if c.eio == 4 && !c.sioConnected {
			c.sioConnected = true
			ack, _ := json.Marshal(map[string]string{"sid": rtmNewSID()})
			c.send(rtmFrame{data: appendPacket(nil, eioPacket{eio: eioMessage, sio: sioConnect, id: -1, payload: ack})})
		}
		return true
	case sioDisconnect:
		return false
	case sioEvent:
		if c.eio == 4 && !c.sioConnected {
			c.log.Info("rtm socket closed: event before socket.io connect")
			return false
		}
		name, args, err := sioSplitEvent(p.payload)
		if err != nil { // parsePacket checked this already
			return false
		}
		c.handleEvent(name, args)
		c.observe(name)
		return true
	case sioBinaryEvent, sioBinaryAck:
		c.log.Info("rtm socket closed: binary socket.io packets are not supported")
		return false
	default: // acks and connect errors from a client mean nothing here
		return true
	}
}

// rtmAuthPayload is the body of the `authentication` event (crisp-protocol.md §2.4).
type rtmAuthPayload struct {
	Tier     string   `json:"tier"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	Events   []string `json:"events"`
	Rooms    []string `json:"rooms"`
}

// rtmBindPayload is the body of `socket:bind`, `socket:bind:push` and `socket:bind:pop`.
type rtmBindPayload struct {
	Events []string `json:"events"`
}

func (c *rtmConn) handleEvent(name string, args []json.RawMessage) {
	var arg json.RawMessage
	if len(args) > 0 {
		arg = args[0]
	}
	switch name {
	case "authentication":
		c.authenticate(arg)
	case "socket:bind", "socket:bind:push", "socket:bind:pop":
		sub := c.sub.Load()
		if sub == nil {
			// "The channel will be silent until you send the first authentication payload."
			c.log.Debug("rtm bind ignored before authentication", "event", name)
			return
		}
		var b rtmBindPayload
		if rtmFirstByte(arg) == '{' {
			if err := json.Unmarshal(arg, &b); err != nil {
				c.log.Info("rtm bind ignored: bad payload", "event", name, "err", err)
				return
			}
		}
		// socket:bind with "" or {} (node and Go clients' rebind) keeps the subscription.
		if name == "socket:bind" && b.Events == nil {
			return
		}
		c.sub.Store(sub.with(func(events map[string]struct{}) {
			if name == "socket:bind" {
				clear(events)
			}
			for _, e := range b.Events {
				if name == "socket:bind:pop" {
					delete(events, e)
				} else {
					events[e] = struct{}{}
				}
			}
		}))
	default:
		c.log.Debug("rtm client event ignored", "event", name)
	}
}

func (c *rtmConn) authenticate(arg json.RawMessage) {
	var a rtmAuthPayload
	var reason string
	if rtmFirstByte(arg) != '{' {
		reason = "invalid authentication payload: want an object"
	} else if err := json.Unmarshal(arg, &a); err != nil {
		reason = "invalid authentication payload: " + err.Error()
	} else if a.Tier == "" || a.Username == "" || a.Password == "" {
		reason = "invalid authentication payload: tier, username and password are required"
	} else if auth := c.hub.cfg.Auth; auth != nil && !auth(a.Tier, a.Username, a.Password) {
		reason = "invalid token or tier"
	}
	if reason != "" {
		// socketio-auth convention: tell the client why, then disconnect (UNCONFIRMED for Crisp).
		c.refused = true
		c.log.Info("rtm authentication refused", "reason", reason, "tier", a.Tier)
		msg, _ := json.Marshal(map[string]string{"message": reason})
		c.send(rtmFrame{data: sioEventFrame("unauthorized", msg)})
		c.send(rtmFrame{data: []byte{eioMessage, sioDisconnect}, closeAfter: true})
		return
	}

	// An empty or missing events list subscribes to nothing (UNCONFIRMED: Crisp's meaning of []).
	sub := &rtmSubscription{events: make(map[string]struct{}, len(a.Events))}
	for _, e := range a.Events {
		sub.events[e] = struct{}{}
	}
	if a.Rooms != nil { // UNCONFIRMED: rooms filter by website id, as public code sends them
		sub.rooms = make(map[string]struct{}, len(a.Rooms))
		for _, r := range a.Rooms {
			sub.rooms[r] = struct{}{}
		}
	}
	// Store before queueing the reply so a client that saw "authenticated" is already subscribed.
	c.sub.Store(sub)
	c.log.Info("rtm socket authenticated", "tier", a.Tier, "events", len(a.Events), "rooms", len(a.Rooms))
	c.send(rtmFrame{data: sioEventFrame("authenticated", json.RawMessage("true"))})
}

// rtmEngineIOError answers a non-upgradable request the way engine.io does.
func rtmEngineIOError(w http.ResponseWriter, status, code int, message string) {
	body, _ := json.Marshal(map[string]any{"code": code, "message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// rtmNewSID returns a random 20-character URL-safe id like engine.io's.
func rtmNewSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func rtmIsTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

var _ http.Handler = (*rtmHub)(nil)
