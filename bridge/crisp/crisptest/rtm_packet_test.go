package crisptest

import (
	"bytes"
	"errors"
	"testing"
)

func TestParsePacket(t *testing.T) {
	tests := []struct {
		frame string
		want  eioPacket // payload compared as a string
	}{
		{`0{"sid":"a"}`, eioPacket{eio: eioOpen, data: `{"sid":"a"}`, id: -1}},
		{"2", eioPacket{eio: eioPing, id: -1}},
		{"2probe", eioPacket{eio: eioPing, data: "probe", id: -1}},
		{"3", eioPacket{eio: eioPong, id: -1}},
		{"6", eioPacket{eio: eioNoop, id: -1}},
		{"40", eioPacket{eio: eioMessage, sio: sioConnect, nsp: "/", id: -1}},
		{`40{"token":"x"}`, eioPacket{eio: eioMessage, sio: sioConnect, nsp: "/", id: -1, payload: []byte(`{"token":"x"}`)}},
		{"40/admin,", eioPacket{eio: eioMessage, sio: sioConnect, nsp: "/admin", id: -1}},
		{"40/admin", eioPacket{eio: eioMessage, sio: sioConnect, nsp: "/admin", id: -1}},
		{"41", eioPacket{eio: eioMessage, sio: sioDisconnect, nsp: "/", id: -1}},
		{`42["authentication",{"tier":"plugin"}]`, eioPacket{eio: eioMessage, sio: sioEvent, nsp: "/", id: -1, payload: []byte(`["authentication",{"tier":"plugin"}]`)}},
		{`4212["a"]`, eioPacket{eio: eioMessage, sio: sioEvent, nsp: "/", id: 12, payload: []byte(`["a"]`)}},
		{`42/chat,7["a",1]`, eioPacket{eio: eioMessage, sio: sioEvent, nsp: "/chat", id: 7, payload: []byte(`["a",1]`)}},
		{`433[true]`, eioPacket{eio: eioMessage, sio: sioAck, nsp: "/", id: 3, payload: []byte(`[true]`)}},
		{`44{"message":"no"}`, eioPacket{eio: eioMessage, sio: sioConnectError, nsp: "/", id: -1, payload: []byte(`{"message":"no"}`)}},
		{`44"no"`, eioPacket{eio: eioMessage, sio: sioConnectError, nsp: "/", id: -1, payload: []byte(`"no"`)}},
		{`451-["a",{"_placeholder":true,"num":0}]`, eioPacket{eio: eioMessage, sio: sioBinaryEvent, attachments: 1, nsp: "/", id: -1, payload: []byte(`["a",{"_placeholder":true,"num":0}]`)}},
	}
	for _, tt := range tests {
		got, err := parsePacket([]byte(tt.frame))
		if err != nil {
			t.Errorf("parsePacket(%q): %v", tt.frame, err)
			continue
		}
		if got.eio != tt.want.eio || got.data != tt.want.data || got.sio != tt.want.sio || got.nsp != tt.want.nsp ||
			got.id != tt.want.id || got.attachments != tt.want.attachments || string(got.payload) != string(tt.want.payload) {
			t.Errorf("parsePacket(%q) = %+v, want %+v", tt.frame, got, tt.want)
		}
	}
}

func TestParsePacketErrors(t *testing.T) {
	for _, frame := range []string{
		"", "7", "x", "4", "47", "4x",
		`42`, `42[]`, `42{}`, `42[1]`, `42["a"`, `42 x`, `42["a"]]`,
		`40"x"`, `40[]`, `41{}`, `44`, `44[1]`, `43{}`,
		`45["a"]`, `45-["a"]`, `4x-["a"]`,
		`4299999999999999999999["a"]`,
	} {
		if p, err := parsePacket([]byte(frame)); !errors.Is(err, errBadPacket) {
			t.Errorf("parsePacket(%q) = %+v, %v; want errBadPacket", frame, p, err)
		}
	}
}

func TestEventFrame(t *testing.T) {
	got := string(sioEventFrame("message:send", []byte(`{"a":"<&>"}`), []byte(`true`)))
	if want := `42["message:send",{"a":"<&>"},true]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzParsePacket checks that the frame parser never panics and that every frame it accepts
// survives a round trip through appendPacket unchanged.
func FuzzParsePacket(f *testing.F) {
	for _, seed := range []string{
		`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}`,
		"2", "3", "2probe", "40", `40{"sid":"x"}`, "40/admin,", "41",
		`42["authentication",{"tier":"plugin","username":"u","password":"p","events":["message:send"],"rooms":["w"]}]`,
		`42["socket:bind:push",{"events":["message:updated"]}]`,
		`4212["a",{}]`, `42/nsp,3["a"]`, `431[true]`, `44{"message":"Invalid namespace"}`,
		`451-["a",{"_placeholder":true,"num":0}]`, `461-3[{"_placeholder":true,"num":0}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := parsePacket(frame)
		if err != nil {
			if !errors.Is(err, errBadPacket) {
				t.Fatalf("parsePacket(%q): error %v does not wrap errBadPacket", frame, err)
			}
			return
		}
		again := appendPacket(nil, p)
		q, err := parsePacket(again)
		if err != nil {
			t.Fatalf("parsePacket(%q) accepted, but its re-encoding %q fails: %v", frame, again, err)
		}
		if p.eio != q.eio || p.data != q.data || p.sio != q.sio || p.nsp != q.nsp || p.id != q.id ||
			p.attachments != q.attachments || !bytes.Equal(p.payload, q.payload) {
			t.Fatalf("round trip of %q via %q: got %+v, want %+v", frame, again, q, p)
		}
	})
}
