// Package js embeds and serves signalbridge.js, the website snippet that lets page code and
// declarative buttons start, pause and hand over the assistant of the visitor's conversation by
// writing Crisp session data through the $crisp queue.
package js

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed signalbridge.js
var script []byte

var etag = func() string {
	sum := sha256.Sum256(script)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// ContentType is the media type Handler serves the snippet with.
const ContentType = "text/javascript; charset=utf-8"

// CacheControl is the Cache-Control header Handler sends: browsers and proxies may keep the snippet
// for five minutes, then revalidate it cheaply with its ETag.
const CacheControl = "public, max-age=300"

// Script returns the snippet's bytes. The caller must not modify them.
func Script() []byte { return script }

// ETag returns the snippet's strong entity tag (a quoted hash of its content), as sent by Handler.
func ETag() string { return etag }

// Handler returns an http.Handler that serves the snippet for GET and HEAD with its content type,
// Cache-Control and ETag, answering 304 Not Modified to a matching If-None-Match. Other methods get
// 405. It serves the same bytes whatever the request path, so mount it where the script belongs
// (the bridge uses /signalbridge.js).
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", CacheControl)
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// ServeContent answers If-None-Match (304), Range and HEAD; the zero time disables Last-Modified.
	http.ServeContent(w, r, "signalbridge.js", time.Time{}, bytes.NewReader(script))
}
