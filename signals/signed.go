package signals

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Signed starts. A website with Config.StartSecret set accepts a start written as session data or by
// the page only in the signed nonce form
//
//	<Start><NonceSep><nonce>.<exp>.<sig>      start_chatbot#q7Zk2w.1780000000000.<43 chars>
//
// made by the website's own backend: nonce is 1 to 64 characters of [A-Za-z0-9_-], exp the expiry in
// Unix milliseconds, and sig = base64url (no padding) of
// HMAC-SHA256(secret, website_id + "|" + session_id + "|" + nonce + "|" + exp). The signature binds
// the value to one conversation and one short window; the machine refuses a value whose exp is not
// later than that of the last signed start it accepted in the conversation, so a value seen once
// cannot be replayed (not even after other values), and remembers that exp in
// Last[SignedExpKey(key)].

// Errors of VerifyStart.
var (
	ErrUnsigned     = errors.New("start is not signed")
	ErrBadSignature = errors.New("bad signature")
	ErrExpired      = errors.New("signed start expired")
	ErrReplayed     = errors.New("signed start already used")
)

// maxNonce bounds the nonce of a signed start.
const maxNonce = 64

// SignStart returns the nonce part of a signed start (what follows NonceSep): "<nonce>.<exp>.<sig>".
// It is what the website's backend computes; the bridge uses it in tests.
func SignStart(secret []byte, websiteID, sessionID, nonce string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return nonce + "." + e + "." + startMAC(secret, websiteID, sessionID, nonce, e)
}

func startMAC(secret []byte, websiteID, sessionID, nonce, exp string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(websiteID + "|" + sessionID + "|" + nonce + "|" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifyStart checks the nonce part of a start value (Parsed.Nonce) against secret for one
// conversation at Unix ms now; lastExp is the exp of the last signed start accepted in that
// conversation (0 for none). It returns the value's exp, or ErrUnsigned (not in the signed form),
// ErrBadSignature, ErrExpired or ErrReplayed. The signature is compared in constant time.
func VerifyStart(secret []byte, websiteID, sessionID, nonce string, now, lastExp int64) (int64, error) {
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
	want := startMAC(secret, websiteID, sessionID, n, e)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return 0, ErrBadSignature
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
