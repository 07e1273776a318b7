package signals

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Signed starts. A website with Config.StartSecret set accepts a start written as session data or by
// the page only in the signed nonce form
//
//	<Start><NonceSep>v2.<nonce>.<exp>.<sig>   start_chatbot#v2.q7Zk2w.1780000000000.<43 chars>
//
// made by the website's own backend: nonce is 1 to 64 characters of [A-Za-z0-9_-], exp the expiry in
// Unix milliseconds, and sig = base64url (no padding) of HMAC-SHA256(secret, m) where m is the
// label "signalbridge-start-v2" followed by website_id, session_id, nonce and exp, each preceded by
// its length in bytes as a 4-byte big-endian integer. The length prefixes make the fields
// unambiguous: no two different (website, session, nonce, exp) share a MAC, whatever they contain.
// The signature binds the value to one conversation and one short window; the machine refuses a
// value whose exp is not later than that of the last signed start it accepted in the conversation,
// so a value seen once cannot be replayed (not even after other values), and remembers that exp in
// Last[SignedExpKey(key)].
//
// The first format, "<nonce>.<exp>.<sig>" with the fields joined by "|" (version 1), is ambiguous
// when an id contains "|". It is accepted only while Config.LegacyStartUntil is in the future (a grace
// period for website backends still signing the old way), and never once it has passed.

// Errors of VerifyStart.
var (
	ErrUnsigned     = errors.New("start is not signed")
	ErrBadSignature = errors.New("bad signature")
	ErrExpired      = errors.New("signed start expired")
	ErrReplayed     = errors.New("signed start already used")
	// ErrLegacySignature: a version 1 signature after its grace period.
	ErrLegacySignature = errors.New("signed start uses the retired version 1 signature")
)

// maxNonce bounds the nonce of a signed start.
const maxNonce = 64

// startV2 is the version tag of the current format and the label its MAC starts with.
const (
	startV2    = "v2"
	startLabel = "signalbridge-start-v2"
)

// SignStart returns the nonce part of a signed start (what follows NonceSep):
// "v2.<nonce>.<exp>.<sig>". It is what the website's backend computes; the bridge uses it in tests.
func SignStart(secret []byte, websiteID, sessionID, nonce string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return startV2 + "." + nonce + "." + e + "." + startMAC(secret, websiteID, sessionID, nonce, e)
}

// SignStartV1 returns a start signed in the retired version 1 format, "<nonce>.<exp>.<sig>", for
// tests of the grace period. Website backends must use SignStart's format.
func SignStartV1(secret []byte, websiteID, sessionID, nonce string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return nonce + "." + e + "." + startMACV1(secret, websiteID, sessionID, nonce, e)
}

func startMAC(secret []byte, fields ...string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(startLabel))
	var n [4]byte
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func startMACV1(secret []byte, websiteID, sessionID, nonce, exp string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(websiteID + "|" + sessionID + "|" + nonce + "|" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifyStart checks the nonce part of a start value (Parsed.Nonce) against secret for one
// conversation at Unix ms now; lastExp is the exp of the last signed start accepted in that
// conversation (0 for none). It returns the value's exp, or ErrUnsigned (not in the signed form),
// ErrBadSignature, ErrExpired or ErrReplayed. The signature is compared in constant time. Only the
// current format is accepted; see VerifyStartUntil for the grace period of the old one.
func VerifyStart(secret []byte, websiteID, sessionID, nonce string, now, lastExp int64) (int64, error) {
	return VerifyStartUntil(secret, websiteID, sessionID, nonce, now, lastExp, 0)
}

// VerifyStartUntil is VerifyStart that also accepts the version 1 format while now is before
// legacyUntil (Unix ms; 0 never): the grace period of website backends not yet upgraded.
func VerifyStartUntil(secret []byte, websiteID, sessionID, nonce string, now, lastExp, legacyUntil int64) (int64, error) {
	v2 := strings.HasPrefix(nonce, startV2+".")
	if v2 {
		nonce = nonce[len(startV2)+1:]
	}
	rest, sig, ok := cutLast(nonce)
	if !ok {
		return 0, ErrUnsigned
	}
	n, e, ok := cutLast(rest)
	if !ok || n == "" || len(n) > maxNonce || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return 0, ErrUnsigned
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != e {
		return 0, ErrUnsigned
	}
	var want string
	if v2 {
		want = startMAC(secret, websiteID, sessionID, n, e)
	} else {
		want = startMACV1(secret, websiteID, sessionID, n, e)
	}
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return 0, ErrBadSignature
	}
	if !v2 && now >= legacyUntil {
		return 0, ErrLegacySignature
	}
	if exp <= now {
		return 0, fmt.Errorf("%w at %d (now %d)", ErrExpired, exp, now)
	}
	if exp <= lastExp {
		return 0, ErrReplayed
	}
	return exp, nil
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// SignedExpKey is the key of State.Last holding the exp of the last signed start accepted for the
// signal key key.
func SignedExpKey(key string) string { return key + ".signed_exp" }
