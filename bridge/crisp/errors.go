package crisp

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinels matched by errors.Is against an *APIError (and, for ErrRateLimited, against a call that
// could not get a client-side quota token before its context ended).
var (
	// ErrInvalidData: Crisp rejected the request body or query (reason "invalid_data", HTTP 400).
	ErrInvalidData = errors.New("crisp: invalid data")
	// ErrNotFound: the route, website, conversation or message does not exist (reason "not_found").
	ErrNotFound = errors.New("crisp: not found")
	// ErrNotSubscribed: the website has not installed the plugin (reason "not_subscribed").
	ErrNotSubscribed = errors.New("crisp: website not subscribed to the plugin")
	// ErrNotAllowed: the token lacks the scope or tier for the route (reason "not_allowed", HTTP 403).
	ErrNotAllowed = errors.New("crisp: not allowed")
	// ErrUnauthorized: the credentials were refused (HTTP 401).
	ErrUnauthorized = errors.New("crisp: unauthorized")
	// ErrRateLimited: Crisp answered 429 or 420, or the client-side daily quota had no token in time.
	ErrRateLimited = errors.New("crisp: rate limited")
	// ErrServer: Crisp answered a 5xx status.
	ErrServer = errors.New("crisp: server error")
)

// APIError is an error answer of the Crisp REST API: a non-2xx status or an envelope with
// "error": true. Match it with errors.As, or its kind with errors.Is and the sentinels above.
type APIError struct {
	Status  int    // HTTP status
	Reason  string // envelope "reason", e.g. "invalid_data"; empty when the body was not an envelope
	Message string // envelope data.message, or the start of a non-JSON body
}

// Error returns "crisp api: <status> <reason>: <message>".
func (e *APIError) Error() string {
	s := fmt.Sprintf("crisp api: %d", e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether the error is of the kind of a sentinel: the reason decides first, the HTTP
// status when Crisp gave no known reason.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrInvalidData:
		return e.Reason == "invalid_data" || (e.Reason == "" && e.Status == http.StatusBadRequest)
	case ErrNotFound:
		return e.Reason == "not_found" || (e.Reason == "" && e.Status == http.StatusNotFound)
	case ErrNotSubscribed:
		return e.Reason == "not_subscribed"
	case ErrNotAllowed:
		return e.Reason == "not_allowed" || e.Status == http.StatusForbidden
	case ErrUnauthorized:
		return e.Reason == "unauthorized" || e.Status == http.StatusUnauthorized
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests || e.Status == statusEnhanceYourCalm
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// Permanent reports whether no retry can fix the error: a 4xx answer other than a rate limit
// (invalid data, not found, not subscribed, not allowed, unauthorized). The bridge's journal
// abandons such a write at once instead of retrying it until its deadline.
func (e *APIError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && !retryableStatus(e.Status)
}

// statusEnhanceYourCalm is the non-standard 420 Crisp documents as a rate-limit answer.
const statusEnhanceYourCalm = 420

// retryableStatus reports whether a status is worth repeating an idempotentMethod request for.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == statusEnhanceYourCalm || status >= 500
}
