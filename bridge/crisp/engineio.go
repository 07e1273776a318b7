package crisp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The Engine.IO and Socket.IO framing the RTM client speaks, over WebSocket text frames: one
// Engine.IO packet per frame (no payload batching on the websocket transport), a one-digit Engine.IO
// type, and for Engine.IO messages a Socket.IO packet inside:
//
//	<eio type>[<sio type>[<attachments>-][/<namespace>,][<ack id>][<JSON payload>]]
//
// The parser is deliberately private: the fake Crisp in crisptest has its own, so a framing bug in
// one cannot hide the same bug in the other.

// Engine.IO packet types (the first byte of every frame).
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
	eioUpgrade = '5'
	eioNoop    = '6'
)

// Socket.IO packet types (the first byte inside an Engine.IO message).
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioAck          = '3'
	sioConnectError = '4'
	sioBinaryEvent  = '5'
	sioBinaryAck    = '6'
)

// eioErrFrame wraps every framing error.
var eioErrFrame = errors.New("bad frame")

// eioFrame is one parsed frame. Byte slices alias the parsed input.
type eioFrame struct {
	typ  byte   // Engine.IO packet type, eioOpen..eioNoop
	data []byte // everything after the Engine.IO type (open JSON, ping probe, Socket.IO packet)

	// Set for Engine.IO messages only.
	sio         byte   // Socket.IO packet type, sioConnect..sioBinaryAck; 0 for other frames
	attachments int    // binary attachments announced by sioBinaryEvent / sioBinaryAck
	nsp         string // namespace, "/" when absent
	ack         int64  // ack id, -1 when absent
	payload     []byte // Socket.IO JSON payload, possibly empty
}

// eioOpenInfo is the JSON of an Engine.IO open packet. Durations are in milliseconds.
type eioOpenInfo struct {
	SID          string `json:"sid"`
	PingInterval int64  `json:"pingInterval"`
	PingTimeout  int64  `json:"pingTimeout"`
	MaxPayload   int64  `json:"maxPayload"`
}

// eioMaxAckID keeps ack ids within what a JavaScript number holds exactly.
const eioMaxAckID = 1<<53 - 1

// parseFrame parses one text frame. It checks the framing only; the JSON payload of a Socket.IO
// packet is left raw and checked by whoever reads it.
func parseFrame(b []byte) (eioFrame, error) {
	if len(b) == 0 {
		return eioFrame{}, fmt.Errorf("%w: empty", eioErrFrame)
	}
	f := eioFrame{typ: b[0], data: b[1:], ack: -1}
	if f.typ < eioOpen || f.typ > eioNoop {
		return eioFrame{}, fmt.Errorf("%w: engine.io type %q", eioErrFrame, f.typ)
	}
	if f.typ != eioMessage {
		return f, nil
	}
	p := f.data
	if len(p) == 0 {
		return eioFrame{}, fmt.Errorf("%w: empty message", eioErrFrame)
	}
	f.sio = p[0]
	if f.sio < sioConnect || f.sio > sioBinaryAck {
		return eioFrame{}, fmt.Errorf("%w: socket.io type %q", eioErrFrame, f.sio)
	}
	i := 1
	if f.sio == sioBinaryEvent || f.sio == sioBinaryAck {
		j := bytes.IndexByte(p[i:], '-')
		if j <= 0 {
			return eioFrame{}, fmt.Errorf("%w: attachments", eioErrFrame)
		}
		n, err := strconv.Atoi(string(p[i : i+j]))
		if err != nil || n < 1 || n > 1000 {
			return eioFrame{}, fmt.Errorf("%w: attachments %q", eioErrFrame, p[i:i+j])
		}
		f.attachments = n
		i += j + 1
	}
	f.nsp = "/"
	if i < len(p) && p[i] == '/' {
		j := bytes.IndexByte(p[i:], ',')
		if j < 0 {
			f.nsp = string(p[i:])
			return f, nil
		}
		f.nsp = string(p[i : i+j])
		i += j + 1
	}
	if i < len(p) && eioIsDigit(p[i]) {
		j := i
		for j < len(p) && eioIsDigit(p[j]) {
			j++
		}
		id, err := strconv.ParseInt(string(p[i:j]), 10, 64)
		if err != nil || id > eioMaxAckID {
			return eioFrame{}, fmt.Errorf("%w: ack id %q", eioErrFrame, p[i:j])
		}
		f.ack = id
		i = j
	}
	f.payload = p[i:]
	return f, nil
}

func eioIsDigit(c byte) bool { return '0' <= c && c <= '9' }

// event splits the payload of a Socket.IO event, a JSON array ["name", arg0, ...], into the name and
// the raw first argument (nil when there is none). It scans the array without decoding the argument:
// the argument is decoded once, by whoever consumes it. It agrees with encoding/json on every payload
// encoding/json accepts; it may accept some malformed arguments, which their decoder then rejects.
func (f *eioFrame) event() (string, json.RawMessage, error) {
	if f.sio != sioEvent && f.sio != sioBinaryEvent {
		return "", nil, fmt.Errorf("%w: not an event", eioErrFrame)
	}
	p := f.payload
	i := eioSkipSpace(p, 0)
	if i >= len(p) || p[i] != '[' {
		return "", nil, fmt.Errorf("%w: event payload is not an array", eioErrFrame)
	}
	i = eioSkipSpace(p, i+1)
	end, err := eioScanString(p, i)
	if err != nil {
		return "", nil, fmt.Errorf("%w: event name: %v", eioErrFrame, err)
	}
	name, err := eioUnquote(p[i:end])
	if err != nil {
		return "", nil, fmt.Errorf("%w: event name: %v", eioErrFrame, err)
	}
	i = eioSkipSpace(p, end)
	if i >= len(p) {
		return "", nil, fmt.Errorf("%w: event array not closed", eioErrFrame)
	}
	if p[i] == ']' {
		return name, nil, nil
	}
	if p[i] != ',' {
		return "", nil, fmt.Errorf("%w: event array: unexpected %q", eioErrFrame, p[i])
	}
	i = eioSkipSpace(p, i+1)
	end, err = eioScanValue(p, i)
	if err != nil {
		return "", nil, fmt.Errorf("%w: event argument: %v", eioErrFrame, err)
	}
	arg := json.RawMessage(p[i:end])
	i = eioSkipSpace(p, end)
	if i >= len(p) || (p[i] != ']' && p[i] != ',') {
		return "", nil, fmt.Errorf("%w: event array not closed", eioErrFrame)
	}
	return name, arg, nil
}

func eioSkipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// eioScanString returns the index just past the JSON string starting at p[i].
func eioScanString(p []byte, i int) (int, error) {
	if i >= len(p) || p[i] != '"' {
		return 0, errors.New("not a string")
	}
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// eioScanValue returns the index just past the JSON value starting at p[i]: a string, an object or
// array (by bracket depth, skipping strings) or a literal/number (up to the next delimiter).
func eioScanValue(p []byte, i int) (int, error) {
	if i >= len(p) {
		return 0, errors.New("missing value")
	}
	switch p[i] {
	case '"':
		return eioScanString(p, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(p); j++ {
			switch p[j] {
			case '"':
				end, err := eioScanString(p, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated value")
	case ',', ']', '}', ':':
		return 0, fmt.Errorf("unexpected %q", p[i])
	default:
		j := i
		for j < len(p) && p[j] != ',' && p[j] != ']' && p[j] != '}' && p[j] != ' ' &&
			p[j] != '\t' && p[j] != '\n' && p[j] != '\r' {
			j++
		}
		return j, nil
	}
}

// eioUnquote decodes a JSON string literal, with a fast path for plain ASCII names.
func eioUnquote(q []byte) (string, error) {
	plain := true
	for _, c := range q[1 : len(q)-1] {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			plain = false
			break
		}
	}
	if plain {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", err
	}
	return s, nil
}

// eioEventFrame encodes a Socket.IO event on the default namespace: 42["name",arg].
func eioEventFrame(name string, arg any) ([]byte, error) {
	b, err := json.Marshal([]any{name, arg})
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", name, err)
	}
	return append([]byte{eioMessage, sioEvent}, b...), nil
}
