package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchid/latch"
)

type sample struct {
	Password *string `json:"password"`
	Count    int     `json:"count"`
	Flag     bool    `json:"flag"`
}

func TestUnmarshalJSON(t *testing.T) {
	cases := []struct {
		body  string
		code  string
		field string
	}{
		{`{"password":"x","extra":1}`, "", ""},
		{``, CodeEmptyBody, ""},
		{`   `, CodeEmptyBody, ""},
		{`{"password":`, CodeInvalidJSON, ""},
		{`{"password":"x"} {}`, CodeInvalidJSON, ""},
		{`{"password":"x"} x`, CodeInvalidJSON, ""},
		{`"just a string"`, CodeInvalidJSON, ""},
		{`[]`, CodeInvalidJSON, ""},
		{`{"password":1}`, CodeWrongType, "password"},
		{`{"count":"1"}`, CodeWrongType, "count"},
		{`{"flag":"yes"}`, CodeWrongType, "flag"},
		{"{\"password\":\"\xc3\x28\"}", CodeInvalidUTF8, ""},
	}
	for _, c := range cases {
		var s sample
		err := UnmarshalJSON([]byte(c.body), &s)
		if c.code == "" {
			if err != nil {
				t.Errorf("%q: %v", c.body, err)
			}
			continue
		}
		le := latch.AsError(err)
		if le == nil || le.Kind != latch.KindInvalid || le.Code != c.code || le.Field != c.field {
			t.Errorf("%q: err = %#v, want code %s field %q", c.body, le, c.code, c.field)
		}
	}
}

func TestDecodeJSONRefusesLargeBodies(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"password":"`+strings.Repeat("a", MaxBodyBytes)+`"}`))
	var s sample
	if err := DecodeJSON(httptest.NewRecorder(), r, &s); !latch.IsCode(err, CodeBodyTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	cases := map[string]string{
		"Bearer abc":  "abc",
		"bearer abc":  "abc",
		"BEARER  abc": "abc",
		"":            "",
		"Bearer":      "",
		"Bearer ":     "",
		"Basic abc":   "",
		"Bearer a b":  "",
		"Bearerabc":   "",
	}
	for header, want := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		got, err := BearerToken(r)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%q: got %q, %v; want %q", header, got, err, want)
		}
		if err != nil && !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("%q: kind of %v", header, err)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Authorization", "Bearer a")
	r.Header.Add("Authorization", "Bearer b")
	if _, err := BearerToken(r); err == nil {
		t.Error("two Authorization headers accepted")
	}
}

func TestContentNegotiation(t *testing.T) {
	for accept, want := range map[string]bool{
		"": true, "*/*": true, "application/json": true, "application/*": true, "text/html, application/json;q=0.5": true,
		"application/problem+json": true, "text/html": false, "application/xml": false, "application/json;q=0": false, "garbage/": false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := AcceptsJSON(r); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "application/vnd.api+json": true,
		"": false, "text/plain": false, "application/x-www-form-urlencoded": false, "application/json;;": false,
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", ct)
		if got := IsJSONContentType(r); got != want {
			t.Errorf("Content-Type %q: %v, want %v", ct, got, want)
		}
	}
}

func TestMiddlewareRecoversAndLogsNoQuery(t *testing.T) {
	var logged strings.Builder
	log := newTestLogger(&logged)
	h := Middleware(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x?token=secret-value", nil))
	if rec.Code != 500 || rec.Header().Get("X-Request-Id") == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("status %d headers %v", rec.Code, rec.Header())
	}
	if strings.Contains(logged.String(), "secret-value") {
		t.Fatalf("the query string reached the log: %s", logged.String())
	}
	if !strings.Contains(logged.String(), "boom") {
		t.Fatalf("the panic was not logged: %s", logged.String())
	}
}

func TestTrustedProxies(t *testing.T) {
	trusted, err := ParsePrefixes("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer, xff, want string
	}{
		{"203.0.113.9:5555", "198.51.100.1", "203.0.113.9"},                   // untrusted peer: header ignored
		{"10.1.2.3:5555", "198.51.100.1", "198.51.100.1"},                     // one trusted proxy
		{"10.1.2.3:5555", "6.6.6.6, 198.51.100.1, 192.0.2.1", "198.51.100.1"}, // spoofed left part skipped
		{"10.1.2.3:5555", "", "10.1.2.3"},                                     // no header
		{"10.1.2.3:5555", "garbage", "10.1.2.3"},                              // unusable header
		{"10.1.2.3:5555", "10.9.9.9", "10.9.9.9"},                             // only proxies: the farthest
		{"[::ffff:10.1.2.3]:5555", "198.51.100.7", "198.51.100.7"},            // IPv4-mapped peer
	}
	for _, c := range cases {
		var got string
		h := Middleware(newTestLogger(io.Discard), trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nope", "1.2.3"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}
