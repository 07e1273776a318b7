package webpages

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"golang.org/x/net/html/charset"

	"github.com/signalbridge/signalbridge/assistant"
)

// Limits of a Fetcher.
const (
	// DefaultMaxBytes caps a page's body (after decompression).
	DefaultMaxBytes = 2 << 20
	// DefaultTimeout bounds one page's request, redirects and body included.
	DefaultTimeout = 15 * time.Second
	// MaxRedirects is how many redirects a page may take; each target is checked again.
	MaxRedirects = 3
)

// ErrRefused wraps every refusal of the address check.
var ErrRefused = errors.New("address refused")

// Fetcher reads public web pages whose URLs come from a website's owner, so it trusts none of
// them: only http and https, only the URL asked (links are never followed; at most MaxRedirects
// redirects, never from https to http), a check at dial time of the address actually dialled
// (after DNS, for every redirect, so a name that resolves to an internal address is refused), no
// proxy, a body cap and a timeout. It is safe for concurrent use.
type Fetcher struct {
	client   *http.Client
	maxBytes int64
}

// Option configures NewFetcher.
type Option func(*fetchOptions)

type fetchOptions struct {
	check    func(netip.Addr) error
	maxBytes int64
	timeout  time.Duration
	tls      *http.Transport // only its TLSClientConfig is used (tests)
}

// WithAddressCheck replaces the check of the dialled address (default: PublicAddress). Tests that
// serve pages on loopback set it; nothing else should.
func WithAddressCheck(check func(netip.Addr) error) Option {
	return func(o *fetchOptions) { o.check = check }
}

// WithMaxBytes caps a page's body at n bytes (default DefaultMaxBytes).
func WithMaxBytes(n int64) Option {
	return func(o *fetchOptions) {
		if n > 0 {
			o.maxBytes = n
		}
	}
}

// WithTimeout bounds one page's request (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(o *fetchOptions) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithTLSFrom takes the TLS client configuration of t (tests: an httptest TLS server's client
// transport, which trusts its certificate).
func WithTLSFrom(t *http.Transport) Option {
	return func(o *fetchOptions) { o.tls = t }
}

// NewFetcher returns a Fetcher.
func NewFetcher(opts ...Option) *Fetcher {
	o := fetchOptions{check: PublicAddress, maxBytes: DefaultMaxBytes, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	check := o.check
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		// Control sees the address about to be dialled, after name resolution: the one that counts.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrRefused, address)
			}
			return check(ap.Addr().Unmap())
		}}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, past the check
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  o.timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
	}
	if o.tls != nil && o.tls.TLSClientConfig != nil {
		tr.TLSClientConfig = o.tls.TLSClientConfig.Clone()
	}
	client := &http.Client{Transport: tr, Timeout: o.timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("more than %d redirects", MaxRedirects)
			}
			if req.URL.Scheme != "https" && (req.URL.Scheme != "http" || via[len(via)-1].URL.Scheme == "https") {
				return fmt.Errorf("redirect to %s refused", req.URL.Redacted())
			}
			if req.URL.User != nil {
				return errors.New("redirect to a URL with credentials refused")
			}
			return nil
		}}
	return &Fetcher{client: client, maxBytes: o.maxBytes}
}

// CloseIdleConnections closes the connections kept for the next reads (when the service stops).
func (f *Fetcher) CloseIdleConnections() { f.client.CloseIdleConnections() }

// PublicAddress refuses what is not a public unicast address: loopback, private (RFC 1918, unique
// local), link-local (169.254.0.0/16, fe80::/10: cloud metadata services), multicast, unspecified,
// shared (100.64.0.0/10), reserved and benchmarking ranges, and the IPv6 prefixes that embed an
// IPv4 address (NAT64, 6to4).
func PublicAddress(a netip.Addr) error {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast() {
		return fmt.Errorf("%w: %s is not a public address", ErrRefused, a)
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s is not a public address", ErrRefused, a)
		}
	}
	return nil
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("::/96"), // IPv4-compatible (deprecated)
}

// Page is a page as last read.
type Page struct {
	Article      assistant.Article
	ETag         string
	LastModified string
}

// ErrNotModified is returned by Fetch when the server answers 304 to the conditional request.
var ErrNotModified = errors.New("not modified")

// CheckURL reports whether rawURL is one a Fetcher reads: absolute http or https, with a host and
// without credentials.
func CheckURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("only http and https URLs are read")
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host")
	}
	if u.User != nil {
		return nil, fmt.Errorf("a URL with credentials is refused")
	}
	return u, nil
}

// Fetch reads one page and extracts its article. With prev (the page as last read) the request is
// conditional (If-None-Match, If-Modified-Since) and an unchanged page returns ErrNotModified.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, prev *Page) (Page, error) {
	u, err := CheckURL(rawURL)
	if err != nil {
		return Page{}, err
	}
	u.Fragment = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("User-Agent", "signalbridge-knowledge/1 (reads the help pages its website's owner listed)")
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9")
	if prev != nil {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return Page{}, plainErr(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && prev != nil:
		return Page{}, ErrNotModified
	case resp.StatusCode != http.StatusOK:
		return Page{}, fmt.Errorf("the server answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return Page{}, plainErr(err)
	}
	if int64(len(body)) > f.maxBytes {
		return Page{}, fmt.Errorf("the page is larger than %d KiB", f.maxBytes>>10)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "text/html" && mt != "application/xhtml+xml") {
		return Page{}, fmt.Errorf("not an HTML page (%s)", cmp.Or(mt, ct))
	}
	r, err := charset.NewReader(bytes.NewReader(body), ct)
	if err != nil {
		return Page{}, fmt.Errorf("decode the page: %w", err)
	}
	art, err := Extract(rawURL, r)
	if err != nil {
		return Page{}, err
	}
	return Page{Article: art, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, nil
}

// plainErr drops the request's method and URL that net/http puts in front of an error (the caller
// names the URL) and says a timeout plainly.
func plainErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && errors.Is(err, ErrRefused) {
		return oe.Err
	}
	return err
}
