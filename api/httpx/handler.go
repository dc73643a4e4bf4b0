package httpx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latchid/latch"
)

// Sealer encrypts values the browser keeps for a surface and gives back
// unchanged (cookies); token.Keys implements it.
type Sealer interface {
	Seal(purpose string, plaintext []byte) (string, error)
	Open(purpose, sealed string) ([]byte, error)
}

// HandlerFunc is a handler that returns its failure instead of writing it;
// the surface's ErrorWriter turns the error into the surface's wire shape.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ErrorWriter writes err in a surface's own shape and status.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err *latch.Error)

// Adapter turns HandlerFuncs into http.Handlers for one surface.
type Adapter struct {
	Log   *slog.Logger
	Write ErrorWriter
}

// Handle adapts h. Internal errors are logged with the request id and their
// cause; the client sees only the surface's generic message.
func (a Adapter) Handle(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		le := latch.AsError(err)
		if ClientGone(r) {
			// Whatever failed, it failed because the client went away and
			// its context ended the work: nobody reads an answer, and a
			// crowd of clients giving up is not a storm of server errors.
			a.Log.DebugContext(r.Context(), "client went away", "request_id", RequestID(w), "method", r.Method, "path", r.URL.Path, "err", err)
			return
		}
		switch le.Kind {
		case latch.KindInternal:
			a.Log.ErrorContext(r.Context(), "internal error", "request_id", RequestID(w), "method", r.Method, "path", r.URL.Path, "err", err)
		case latch.KindUnavailable:
			if le.Code != latch.CodeDatabaseUnavailable {
				break // overload and mail not configured are expected answers
			}
			// The answer says nothing of the database; the log says why.
			a.Log.WarnContext(r.Context(), "unavailable", "request_id", RequestID(w), "method", r.Method, "path", r.URL.Path, "code", le.Code, "err", err)
		}
		SetRetryAfter(w, le)
		a.Write(w, r, le)
	})
}

// ClientGone reports whether the client of r went away (its connection
// closed, so the server cancelled r's context) before the answer.
func ClientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// SetRetryAfter sets the Retry-After header (RFC 9110, whole seconds,
// rounded up) of an error that says when to try again: TooMany and
// Unavailable (a database that cannot be reached, a hasher queue full).
func SetRetryAfter(w http.ResponseWriter, le *latch.Error) {
	if le.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter+time.Second-1)/time.Second)))
	}
}

// WriteJSON writes v as JSON with status.
//
// Characters such as < > & are written as themselves, not as \u003c...:
// the seed contracts quote texts like "=>" that clients may compare byte for
// byte, and a JSON response (with nosniff) is never read as HTML.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive (RFC 9110); the token must be one
// non-empty word.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", &latch.Error{Kind: latch.KindUnauthenticated, Code: CodeMissingToken, Message: "missing Authorization header"}
	}
	if len(values) > 1 {
		return "", &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "more than one Authorization header"}
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "malformed Authorization header: want Bearer <token>"}
	}
	return tok, nil
}

// RequestID returns the id the middleware gave the request whose response
// w is writing. It travels in the response header rather than in the
// request's context: attaching it to the context would copy every request.
func RequestID(w http.ResponseWriter) string {
	return w.Header().Get("X-Request-Id")
}

// requestIDs makes request ids: a random per-process prefix and a counter.
// They need to be unique and short, not secret.
type requestIDs struct {
	prefix string
	next   atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (ids *requestIDs) new() string {
	return ids.prefix + strconv.FormatUint(ids.next.Add(1), 36)
}

// Middleware wraps the whole service: a request id, security headers, an
// access log line at debug level (the path only: never the query string,
// which may carry a token, nor any header), and recovery from a panic as a
// bare 500.
//
// When the peer is one of trusted (the operator's proxies), the client's
// address is taken from X-Forwarded-For and put in r.RemoteAddr, so that
// rate limits see clients rather than the proxy.
func Middleware(log *slog.Logger, trusted []netip.Prefix, next http.Handler) http.Handler {
	return ObservedMiddleware(log, trusted, nil, next)
}

// RequestObserver is told of every request once it is answered, for an
// operator's metrics (package metrics implements it). It runs on the
// request's path: it must be quick and must not block.
type RequestObserver interface {
	// ObserveRequest: a request was answered with status after elapsed.
	// route is the pattern of the ServeMux route that served it ("" when
	// none did: a 404 or 405 of the mux, a redirect), never the path:
	// paths are as many as clients care to send. method is the
	// request's, as sent; the observer bounds it.
	ObserveRequest(route, method string, status int, elapsed time.Duration)
}

// ObservedMiddleware is Middleware that also tells requests (nil: nobody)
// of every request, the panicking ones included (as the 500 they get).
// The route is read from r.Pattern after next has run: next is the
// ServeMux, which sets it on the very request it is given.
func ObservedMiddleware(log *slog.Logger, trusted []netip.Prefix, requests RequestObserver, next http.Handler) http.Handler {
	ids := newRequestIDs()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var start time.Time
		debug := log.Enabled(r.Context(), slog.LevelDebug)
		if requests != nil || debug {
			start = time.Now()
		}
		if len(trusted) > 0 {
			if ip, ok := forwardedFor(r, trusted); ok {
				r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			}
		}
		id := ids.new()
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				log.ErrorContext(r.Context(), "panic", "request_id", id, "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					http.Error(rec, `{"message":"Server Error"}`, http.StatusInternalServerError)
				}
			}
			if requests != nil {
				requests.ObserveRequest(r.Pattern, r.Method, rec.status, time.Since(start))
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
		if debug {
			log.DebugContext(r.Context(), "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration", time.Since(start))
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// ClientIP is the address of the client, for rate limits and logs: the
// peer's, or the one Middleware found behind a trusted proxy.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// forwardedFor returns the client address behind trusted proxies: reading
// X-Forwarded-For from the right (the hop nearest us), the first address
// that is not a trusted proxy. Addresses further left were written by the
// client itself and cannot be believed. It reports false when the peer is
// not a trusted proxy or the header holds nothing usable.
func forwardedFor(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !inPrefixes(peer.Addr().Unmap(), trusted) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(line, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		last = ip.Unmap()
		if !inPrefixes(last, trusted) {
			return last, true
		}
	}
	return last, last.IsValid()
}

func inPrefixes(ip netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParsePrefixes reads a comma-separated list of CIDRs or single addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", f)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

// Context returns the request's context carrying the client's address
// (latch.WithClientIP), for use cases that write the audit log. Only
// handlers that need it pay for the extra context.
func Context(r *http.Request) context.Context {
	return latch.WithClientIP(r.Context(), ClientIP(r))
}
