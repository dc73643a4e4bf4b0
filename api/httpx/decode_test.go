package httpx

import (
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
	h := Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
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
