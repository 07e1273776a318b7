package crisp

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"testing"
)

// decodeDataUseNumber is how custom data was decoded before formatRaw: a UseNumber decoder into
// map[string]any, then formatValue. formatRaw must give the same texts.
func decodeDataUseNumber(raw []byte) (map[string]string, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = formatValue(v)
	}
	return out, nil
}

func decodeDataRaw(raw []byte) (map[string]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, err := formatRaw(v)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

// FuzzFormatRaw: custom data decoded through formatRaw reads exactly as through a UseNumber decoder
// and formatValue, for every well-formed JSON value.
func FuzzFormatRaw(f *testing.F) {
	for _, s := range []string{
		`{"enum":"start_chatbot","plan":"pro"}`,
		`{"n":3,"big":123456789012345678901234567890,"f":-1.50e3,"ok":true,"no":false,"z":null}`,
		`{"o":{"b":2,"a":[1,"x",null,{"c":1.0}]},"e":"","u":"caf\u00e9 \"q\""}`,
		`{"dup":"a","dup":"b"}`, `{}`, `null`, `[]`, `"x"`, `{"a": 1 , "b" : [ ] }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		want, werr := decodeDataUseNumber(raw)
		got, gerr := decodeDataRaw(raw)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: error %v, before %v", raw, gerr, werr)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s: got %q, before %q", raw, got, want)
		}
	})
}

// FuzzDecodeHookOnePass: the one-pass DecodeHook gives the event and the error class of the
// two-pass decoding (envelope, then data) for every body.
func FuzzDecodeHookOnePass(f *testing.F) {
	const w = `"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825"`
	for _, s := range []string{
		`{` + w + `,"event":"message:send","data":{"website_id":"x","session_id":"s","type":"text","from":"user","origin":"chat","content":"Hey","fingerprint":15069856964942,"timestamp":1506985696616,"user":{"user_id":"s","nickname":"v"}},"timestamp":1}`,
		`{` + w + `,"event":"session:set_data","data":{"session_id":"s","data":{"enum":"start_chatbot","n":3,"o":{"b":1,"a":2}}},"timestamp":1715864068597}`,
		`{` + w + `,"event":"people:profile:created","data":[1],"timestamp":1}`,
		`{` + w + `,"event":"message:removed","data":{"session_id":"s","fingerprint":"x"}}`,
		`{` + w + `,"event":"message:send","data":"hi"}`,
		`{` + w + `,"event":"message:send","data":null}`,
		`{` + w + `,"event":"message:send","data":{"type":5}}`,
		`{` + w + `,"event":"session:set_state","data":{"session_id":"s","state":"resolved"},"timestamp":"x"}`,
		`{"event":"session:set_state","data":{"session_id":"s","state":"resolved"},"data":"x"}`,
		`{"event":"website:users:available","data":{"available":true}}`, `{}{}`, ``, `[]`,
	} {
		f.Add([]byte(s))
	}
	class := func(err error) string {
		switch {
		case err == nil:
			return "ok"
		case errors.Is(err, ErrUnhandled):
			return "unhandled"
		case errors.Is(err, ErrMalformed):
			return "malformed"
		}
		return "other: " + err.Error()
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gerr := DecodeHook(body)
		want, werr := decodeHookTwoPass(body)
		if class(gerr) != class(werr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\none pass %+v, %v\ntwo pass %+v, %v", body, got, gerr, want, werr)
		}
	})
}

// FuzzJSONText: jsonText reads every JSON string token as json.Unmarshal does.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{`"Hey :)"`, `""`, `"caf\u00e9 \"q\" \n"`, "\"\xff\xfe\"", `"é"`, `"a`, `"`, `"\ud83d\ude00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, q []byte) {
		var want string
		if json.Unmarshal(q, &want) != nil {
			return // jsonText is only given strings the decoder accepted
		}
		if got, err := jsonText(q); err != nil || got != want {
			t.Fatalf("%q: jsonText = %q, %v; json.Unmarshal %q", q, got, err, want)
		}
	})
}
