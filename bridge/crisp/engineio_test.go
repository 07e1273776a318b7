package crisp

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

func TestParseFrame(t *testing.T) {
	tests := []struct {
		in      string
		want    eioFrame
		wantErr bool
	}{
		{in: `0{"sid":"a"}`, want: eioFrame{typ: eioOpen, data: []byte(`{"sid":"a"}`), ack: -1}},
		{in: "2", want: eioFrame{typ: eioPing, data: []byte{}, ack: -1}},
		{in: "2probe", want: eioFrame{typ: eioPing, data: []byte("probe"), ack: -1}},
		{in: "3", want: eioFrame{typ: eioPong, data: []byte{}, ack: -1}},
		{in: "6", want: eioFrame{typ: eioNoop, data: []byte{}, ack: -1}},
		{in: "40", want: eioFrame{typ: eioMessage, data: []byte("0"), sio: sioConnect, nsp: "/", ack: -1, payload: []byte{}}},
		{in: `40{"sid":"x"}`, want: eioFrame{typ: eioMessage, data: []byte(`0{"sid":"x"}`), sio: sioConnect, nsp: "/", ack: -1, payload: []byte(`{"sid":"x"}`)}},
		{in: `42["a",1]`, want: eioFrame{typ: eioMessage, data: []byte(`2["a",1]`), sio: sioEvent, nsp: "/", ack: -1, payload: []byte(`["a",1]`)}},
		{in: `42/admin,["a"]`, want: eioFrame{typ: eioMessage, data: []byte(`2/admin,["a"]`), sio: sioEvent, nsp: "/admin", ack: -1, payload: []byte(`["a"]`)}},
		{in: `42/admin,12["a"]`, want: eioFrame{typ: eioMessage, data: []byte(`2/admin,12["a"]`), sio: sioEvent, nsp: "/admin", ack: 12, payload: []byte(`["a"]`)}},
		{in: `4212["a"]`, want: eioFrame{typ: eioMessage, data: []byte(`212["a"]`), sio: sioEvent, nsp: "/", ack: 12, payload: []byte(`["a"]`)}},
		{in: `41/admin`, want: eioFrame{typ: eioMessage, data: []byte(`1/admin`), sio: sioDisconnect, nsp: "/admin", ack: -1}},
		{in: `451-["a",{"_placeholder":true,"num":0}]`, want: eioFrame{typ: eioMessage, data: []byte(`51-["a",{"_placeholder":true,"num":0}]`), sio: sioBinaryEvent, attachments: 1, nsp: "/", ack: -1, payload: []byte(`["a",{"_placeholder":true,"num":0}]`)}},
		{in: "", wantErr: true},
		{in: "7", wantErr: true},
		{in: "x", wantErr: true},
		{in: "4", wantErr: true},
		{in: "47", wantErr: true},
		{in: "45", wantErr: true},
		{in: "45-[]", wantErr: true},
		{in: "450-[]", wantErr: true},
		{in: "45x-[]", wantErr: true},
		{in: "4299999999999999999999[]", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseFrame([]byte(tt.in))
		if tt.wantErr {
			if err == nil || !errors.Is(err, eioErrFrame) {
				t.Errorf("parseFrame(%q) error = %v, want a frame error", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseFrame(%q): %v", tt.in, err)
			continue
		}
		if got.typ != tt.want.typ || !bytes.Equal(got.data, tt.want.data) || got.sio != tt.want.sio ||
			got.attachments != tt.want.attachments || got.nsp != tt.want.nsp || got.ack != tt.want.ack ||
			!bytes.Equal(got.payload, tt.want.payload) {
			t.Errorf("parseFrame(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestFrameEvent(t *testing.T) {
	tests := []struct {
		in       string
		wantName string
		wantArg  string
		wantErr  bool
	}{
		{in: `42["message:send",{"a":[1,"]"]}]`, wantName: "message:send", wantArg: `{"a":[1,"]"]}`},
		{in: `42[ "x" , true , 2 ]`, wantName: "x", wantArg: `true`},
		{in: `42["x",-1.5e3]`, wantName: "x", wantArg: `-1.5e3`},
		{in: `42["x","s\"]"]`, wantName: "x", wantArg: `"s\"]"`},
		{in: `42["authenticated"]`, wantName: "authenticated"},
		{in: `42["caf\u00e9",null]`, wantName: "café", wantArg: `null`},
		{in: `451-["b",{"_placeholder":true,"num":0}]`, wantName: "b", wantArg: `{"_placeholder":true,"num":0}`},
		{in: `42`, wantErr: true},
		{in: `42{}`, wantErr: true},
		{in: `42[1,2]`, wantErr: true},
		{in: `42["x"`, wantErr: true},
		{in: `42["x",`, wantErr: true},
		{in: `42["x",{"a":1]`, wantErr: true},
		{in: `42["x",{"a":"]`, wantErr: true},
		{in: `42["x" 1]`, wantErr: true},
		{in: `42["x",1 2]`, wantErr: true},
		{in: `42["\x"]`, wantErr: true},
		{in: `43["x"]`, wantErr: true},
	}
	for _, tt := range tests {
		f, err := parseFrame([]byte(tt.in))
		if err != nil {
			t.Fatalf("parseFrame(%q): %v", tt.in, err)
		}
		name, arg, err := f.event()
		if tt.wantErr {
			if err == nil {
				t.Errorf("event(%q) = %q, %s; want an error", tt.in, name, arg)
			}
			continue
		}
		if err != nil || name != tt.wantName || string(arg) != tt.wantArg {
			t.Errorf("event(%q) = %q, %s, %v; want %q, %s", tt.in, name, arg, err, tt.wantName, tt.wantArg)
		}
	}
}

// FuzzParseFrame checks that no input panics the parser, that parsed frames keep their invariants,
// and that event splitting agrees with encoding/json whenever encoding/json accepts the payload.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`42["message:send",{"website_id":"w","session_id":"s","fingerprint":1}]`))
	f.Add([]byte(`0{"sid":"x","pingInterval":25000,"pingTimeout":20000}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseFrame(b)
		if err != nil {
			return
		}
		if fr.typ < eioOpen || fr.typ > eioNoop {
			t.Fatalf("type %q accepted", fr.typ)
		}
		if fr.typ != eioMessage {
			if fr.sio != 0 {
				t.Fatalf("socket.io type %q on a non-message frame", fr.sio)
			}
			return
		}
		if !strings.HasPrefix(fr.nsp, "/") || fr.ack < -1 || fr.ack > eioMaxAckID {
			t.Fatalf("bad frame fields %+v", fr)
		}
		name, arg, err := fr.event()
		if fr.sio != sioEvent && fr.sio != sioBinaryEvent {
			if err == nil {
				t.Fatalf("event() accepted socket.io type %q", fr.sio)
			}
			return
		}
		var arr []json.RawMessage
		var wantName string
		if json.Unmarshal(fr.payload, &arr) != nil || len(arr) == 0 || json.Unmarshal(arr[0], &wantName) != nil {
			return // encoding/json rejects it; we may be lenient
		}
		if err != nil {
			t.Fatalf("event(%q): %v; encoding/json accepts it", fr.payload, err)
		}
		if name != wantName {
			t.Fatalf("event(%q) name = %q, encoding/json says %q", fr.payload, name, wantName)
		}
		var wantArg json.RawMessage
		if len(arr) > 1 {
			wantArg = arr[1]
		}
		if !bytes.Equal(arg, wantArg) {
			t.Fatalf("event(%q) arg = %s, encoding/json says %s", fr.payload, arg, wantArg)
		}
		// Re-encoding gives a frame that splits the same way.
		if wantArg == nil {
			return
		}
		enc, err := eioEventFrame(name, wantArg)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := parseFrame(enc)
		if err != nil {
			t.Fatalf("parse re-encoded %q: %v", enc, err)
		}
		name2, arg2, err := again.event()
		var c1, c2 bytes.Buffer
		if err != nil || name2 != name || json.Compact(&c1, arg) != nil || json.Compact(&c2, arg2) != nil ||
			!bytes.Equal(c1.Bytes(), c2.Bytes()) {
			t.Fatalf("round trip of %q: %q %s %v", enc, name2, arg2, err)
		}
	})
}

func TestRTMWebSocketURL(t *testing.T) {
	tests := []struct {
		in      string
		eio     int
		want    string
		wantErr bool
	}{
		{in: "wss://app.relay.crisp.chat/p/68/", eio: 4, want: "wss://app.relay.crisp.chat/p/68/?EIO=4&transport=websocket"},
		{in: "https://app.relay.crisp.chat/w/f43", eio: 3, want: "wss://app.relay.crisp.chat/w/f43/?EIO=3&transport=websocket"},
		{in: "http://127.0.0.1:8080/p/1/?x=1#f", eio: 4, want: "ws://127.0.0.1:8080/p/1/?EIO=4&transport=websocket"},
		{in: "ws://[::1]:9/", eio: 4, want: "ws://[::1]:9/?EIO=4&transport=websocket"},
		{in: "ws://h", eio: 4, want: "ws://h/?EIO=4&transport=websocket"},
		{in: "ftp://h/p/", eio: 4, wantErr: true},
		{in: "/p/1/", eio: 4, wantErr: true},
		{in: "wss:///p/1/", eio: 4, wantErr: true},
		{in: "://", eio: 4, wantErr: true},
	}
	for _, tt := range tests {
		got, err := rtmWebSocketURL(tt.in, tt.eio)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("rtmWebSocketURL(%q, %d) = %q, %v; want %q (error %v)", tt.in, tt.eio, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRTMBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	tests := []struct {
		failures   int
		floor, top time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{4, 500 * time.Millisecond, time.Second},
		{1000, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := rtmBackoff(lo, hi, tt.failures)
			if d < tt.floor || d > tt.top {
				t.Fatalf("rtmBackoff(%v, %v, %d) = %v, want within [%v, %v]", lo, hi, tt.failures, d, tt.floor, tt.top)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("rtmBackoff(%v, %v, %d) is not jittered: %v", lo, hi, tt.failures, seen)
		}
	}
}

// BenchmarkRTMDecode measures frames per second through the RTM client's hot path: frame parsing,
// event splitting and DecodeEvent, for a visitor text message and a custom-data signal.
func BenchmarkRTMDecode(b *testing.B) {
	frames := map[string]string{
		"message_send": `42["message:send",{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825",` +
			`"session_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f","type":"text","content":"Hey, can you help me with my order?",` +
			`"from":"user","origin":"chat","stamped":true,"mentions":[],"timestamp":1506985696616,"fingerprint":150698569649423,` +
			`"user":{"nickname":"visitor493603","user_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f"}}]`,
		"set_data": `42["session:set_data",{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825",` +
			`"session_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f","inbox_id":null,"data":{"enum":"start_chatbot","plan":"pro"}}]`,
	}
	for name, frame := range frames {
		raw := []byte(frame)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			var ev bridge.Event
			for b.Loop() {
				f, err := parseFrame(raw)
				if err != nil {
					b.Fatal(err)
				}
				name, arg, err := f.event()
				if err != nil || !Handled(name) {
					b.Fatal(name, err)
				}
				if ev, err = DecodeEvent(name, arg, bridge.ViaRTM, ""); err != nil {
					b.Fatal(err)
				}
			}
			if ev.SessionID == "" {
				b.Fatal("not decoded")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
