package crisp

import (
	"bytes"
	"encoding/json"
	"maps"
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
