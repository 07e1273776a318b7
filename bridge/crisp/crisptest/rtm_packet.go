package crisptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Engine.IO packet types (the first character of every text frame, EIO 3 and 4 alike).
const (
	eioOpen    byte = '0'
	eioClose   byte = '1'
	eioPing    byte = '2'
	eioPong    byte = '3'
	eioMessage byte = '4'
	eioUpgrade byte = '5'
	eioNoop    byte = '6'
)

// Socket.IO packet types (the first character of an Engine.IO message's payload).
const (
	sioConnect      byte = '0'
	sioDisconnect   byte = '1'
	sioEvent        byte = '2'
	sioAck          byte = '3'
	sioConnectError byte = '4'
	sioBinaryEvent  byte = '5'
	sioBinaryAck    byte = '6'
)

// errBadPacket wraps every frame parsing failure.
var errBadPacket = errors.New("bad packet")

// eioPacket is one Engine.IO text frame; when eio is eioMessage it carries a Socket.IO packet.
type eioPacket struct {
	eio  byte
	data string // payload of non-message packets, e.g. "probe" in "2probe" or the open JSON

	// Socket.IO part, set when eio == eioMessage.
	sio         byte
	attachments int             // binary packets only
	nsp         string          // namespace; "/" when the frame names none
	id          int64           // acknowledgement id; -1 when absent
	payload     json.RawMessage // raw JSON payload; nil when absent
}

// parsePacket parses one Engine.IO text frame and, for messages, the Socket.IO packet inside,
// following engine.io-parser and socket.io-parser (v4 wire format, which EIO3 shares for text
// frames). JSON payloads are validated and kept byte for byte; their shape must match the
// Socket.IO packet type, which keeps the grammar unambiguous (a payload never starts with a digit).
func parsePacket(frame []byte) (eioPacket, error) {
	p := eioPacket{id: -1}
	if len(frame) == 0 {
		return p, fmt.Errorf("%w: empty frame", errBadPacket)
	}
	p.eio = frame[0]
	if p.eio < eioOpen || p.eio > eioNoop {
		return p, fmt.Errorf("%w: unknown engine.io type %q", errBadPacket, p.eio)
	}
	rest := frame[1:]
	if p.eio != eioMessage {
		p.data = string(rest)
		return p, nil
	}
	if len(rest) == 0 {
		return p, fmt.Errorf("%w: empty socket.io packet", errBadPacket)
	}
	p.sio = rest[0]
	if p.sio < sioConnect || p.sio > sioBinaryAck {
		return p, fmt.Errorf("%w: unknown socket.io type %q", errBadPacket, p.sio)
	}
	rest = rest[1:]

	if p.sio == sioBinaryEvent || p.sio == sioBinaryAck {
		dash := bytes.IndexByte(rest, '-')
		if dash <= 0 || !rtmAllDigits(rest[:dash]) {
			return p, fmt.Errorf("%w: bad attachment count", errBadPacket)
		}
		n, err := strconv.Atoi(string(rest[:dash]))
		if err != nil || n > 1000 {
			return p, fmt.Errorf("%w: bad attachment count", errBadPacket)
		}
		p.attachments = n
		rest = rest[dash+1:]
	}

	p.nsp = "/"
	if len(rest) > 0 && rest[0] == '/' {
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			p.nsp, rest = string(rest), nil
		} else {
			p.nsp, rest = string(rest[:end]), rest[end+1:]
		}
	}

	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		id, err := strconv.ParseInt(string(rest[:digits]), 10, 64)
		if err != nil {
			return p, fmt.Errorf("%w: bad ack id: %w", errBadPacket, err)
		}
		p.id = id
		rest = rest[digits:]
	}

	if len(rest) > 0 {
		if !json.Valid(rest) {
			return p, fmt.Errorf("%w: payload is not JSON", errBadPacket)
		}
		p.payload = json.RawMessage(bytes.Clone(rest))
	}
	if err := sioCheckPayload(p.sio, p.payload); err != nil {
		return p, err
	}
	return p, nil
}

// sioCheckPayload enforces socket.io-parser's isPayloadValid rules.
func sioCheckPayload(typ byte, payload json.RawMessage) error {
	first := rtmFirstByte(payload)
	switch typ {
	case sioConnect:
		if payload != nil && first != '{' {
			return fmt.Errorf("%w: connect payload must be an object", errBadPacket)
		}
	case sioDisconnect:
		if payload != nil {
			return fmt.Errorf("%w: disconnect carries no payload", errBadPacket)
		}
	case sioConnectError:
		if first != '{' && first != '"' {
			return fmt.Errorf("%w: connect error payload must be an object or a string", errBadPacket)
		}
	case sioEvent, sioBinaryEvent:
		if _, _, err := sioSplitEvent(payload); err != nil {
			return err
		}
	case sioAck, sioBinaryAck:
		if first != '[' {
			return fmt.Errorf("%w: ack payload must be an array", errBadPacket)
		}
	}
	return nil
}

// sioSplitEvent splits an event payload `["name", arg...]` into its name and raw arguments.
func sioSplitEvent(payload json.RawMessage) (string, []json.RawMessage, error) {
	var items []json.RawMessage
	if rtmFirstByte(payload) != '[' || json.Unmarshal(payload, &items) != nil || len(items) == 0 {
		return "", nil, fmt.Errorf("%w: event payload must be a non-empty array", errBadPacket)
	}
	var name string
	if err := json.Unmarshal(items[0], &name); err != nil {
		return "", nil, fmt.Errorf("%w: event name must be a string", errBadPacket)
	}
	return name, items[1:], nil
}

// appendPacket appends the wire form of p to b; parsePacket(appendPacket(nil, p)) gives p back.
func appendPacket(b []byte, p eioPacket) []byte {
	b = append(b, p.eio)
	if p.eio != eioMessage {
		return append(b, p.data...)
	}
	b = append(b, p.sio)
	if p.sio == sioBinaryEvent || p.sio == sioBinaryAck {
		b = strconv.AppendInt(b, int64(p.attachments), 10)
		b = append(b, '-')
	}
	if p.nsp != "" && p.nsp != "/" {
		b = append(b, p.nsp...)
		b = append(b, ',')
	}
	if p.id >= 0 {
		b = strconv.AppendInt(b, p.id, 10)
	}
	return append(b, p.payload...)
}

// sioEventFrame is the text frame `42["name",args...]` for the root namespace.
func sioEventFrame(name string, args ...json.RawMessage) []byte {
	quoted, _ := json.Marshal(name) // a string always marshals
	n := 4 + len(quoted)
	for _, a := range args {
		n += 1 + len(a)
	}
	b := make([]byte, 0, n)
	b = append(b, eioMessage, sioEvent, '[')
	b = append(b, quoted...)
	for _, a := range args {
		b = append(b, ',')
		b = append(b, a...)
	}
	return append(b, ']')
}

func rtmFirstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

func rtmAllDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
