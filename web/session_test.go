package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestTwoTabsRefreshOneWebSession: two tabs of one browser open a page at
// once after the web session's access token expired, so both refresh it
// with the same refresh token. Within the reuse interval both stay signed
// in, and the session lives on; before the interval existed, the second
// refresh was taken for a stolen token and signed the person out.
func TestTwoTabsRefreshOneWebSession(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		const email, pw = "tabs@example.com", "correct horse battery staple"
		h.PasswordUser(t, email, pw, "", false)
		srv := h.Server(t)
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		// A same-origin form: the pages' cross-origin check lets a client
		// that sends no Origin through.
		res, err := browser.PostForm(srv.URL+"/login", url.Values{"email": {email}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Request.URL.Path != "/account" {
			t.Fatalf("sign-in ended at %s with %d", res.Request.URL, res.StatusCode)
		}
		u, _ := url.Parse(srv.URL)
		var session *http.Cookie
		for _, c := range jar.Cookies(u) {
			if c.Name == "latch_web" {
				session = c
			}
		}
		if session == nil {
			t.Fatal("no web session cookie")
		}

		h.Clock.Advance(time.Hour) // the access token in the cookie expired
		// tab opens /account with cookie and reports whether it was
		// signed in, and the cookie it was given.
		tab := func(cookie *http.Cookie) (bool, *http.Cookie) {
			t.Helper()
			req, _ := http.NewRequest("GET", srv.URL+"/account", nil)
			req.AddCookie(cookie)
			res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, c := range res.Cookies() {
				if c.Name == "latch_web" {
					cookie = c
				}
			}
			return res.StatusCode == 200 && strings.Contains(string(body), email), cookie
		}
		okA, cookieA := tab(session)
		h.Clock.Advance(2 * time.Second)
		okB, cookieB := tab(session)
		if !okA || !okB {
			t.Fatalf("signed in: tab A %v, tab B %v", okA, okB)
		}
		// Both tabs' cookies, and the session, keep working.
		h.Clock.Advance(account.DefaultRefreshReuseInterval)
		if ok, _ := tab(cookieA); !ok {
			t.Error("tab A was signed out")
		}
		h.Clock.Advance(time.Hour)
		if ok, _ := tab(cookieB); !ok {
			t.Error("tab B could not refresh again")
		}
	})
}
