package native_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
)

// behindProxy serves h's surfaces as a deployment behind a proxy on
// loopback does: the client address comes from X-Forwarded-For.
func behindProxy(t *testing.T, h *testenv.Harness) *httptest.Server {
	t.Helper()
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	srv := httptest.NewServer(api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS, TrustedProxies: trusted,
		OAuth: native.OAuthConfig{Sealer: h.Keys}}, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv
}

func postFrom(t *testing.T, srv *httptest.Server, client, path, contentType, body string, header http.Header) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Forwarded-For", client)
	for k, v := range header {
		req.Header[k] = v
	}
	return send(t, req)
}

// Every limit keyed by the client address counts an IPv6 /64 as one
// client: sign-in failures, client-credential failures and mail requests,
// each from a fresh address of the same /64.
func TestLimitsCountIPv6PerPrefixOverHTTP(t *testing.T) {
	h := testenv.NewHarness(t, testenv.Backends()[0].Open(t))
	srv := behindProxy(t, h)
	h.PasswordUser(t, "v6@example.com", adminTestPassword, "", false)
	addr := func(i int) string { return fmt.Sprintf("2001:db8:1:2:%x:%x::1", i/256, i%256) }

	wrong := url.Values{"grant_type": {"password"}, "username": {"v6@example.com"}, "password": {"not the password"}}.Encode()
	for i := range 10 {
		if status, _, body := postFrom(t, srv, addr(i), "/v1/token", form, wrong, nil); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("failure %d: %d %v", i+1, status, body)
		}
	}
	if status, hdr, body := postFrom(t, srv, addr(10), "/v1/token", form, wrong, nil); status != 429 || body["error"] != "slow_down" || hdr.Get("Retry-After") == "" {
		t.Fatalf("11th failure from one /64: %d %v", status, body)
	}
	if status, _, body := postFrom(t, srv, "2001:db8:1:3::1", "/v1/token", form, wrong, nil); status != 400 {
		t.Fatalf("another /64: %d %v", status, body)
	}

	client := url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"}, "client_secret": {"lcs_nope"}}.Encode()
	for i := range 10 {
		if status, _, body := postFrom(t, srv, addr(100+i), "/v1/token", form, client, nil); status != 401 {
			t.Fatalf("client failure %d: %d %v", i+1, status, body)
		}
	}
	if status, _, body := postFrom(t, srv, addr(110), "/v1/token", form, client, nil); status != 429 {
		t.Fatalf("11th client failure from one /64: %d %v", status, body)
	}

	for i := range 30 {
		if status, _, body := postFrom(t, srv, addr(200+i), "/v1/recover", "application/json", fmt.Sprintf(`{"email":"r%d@example.com"}`, i), nil); status != 202 {
			t.Fatalf("recovery request %d: %d %v", i+1, status, body)
		}
	}
	if status, hdr, body := postFrom(t, srv, addr(230), "/v1/recover", "application/json", `{"email":"r30@example.com"}`, nil); status != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("31st mail request from one /64: %d %v", status, body)
	}
	h.Accounts.Wait()
}

// The per-account cap (NIST SP 800-63B: at most 100 consecutive failures
// per account, here 5 for the test) counts failures from every address. It
// holds alike for an email without an account, refuses even the right
// password once reached (that is what stops the guessing), and does not
// lock the owner out: a recovery link still works, and setting a password
// (or a successful sign-in) starts the count again.
func TestPerAccountFailureCap(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.LoginPerAccount = ratelimit.Rule{Limit: 5, Per: 5 * time.Hour}
	testenv.ForEachMailBackend(t, cfg, func(t *testing.T, h *testenv.MailHarness) {
		srv := behindProxy(t, h.Harness)
		h.PasswordUser(t, "capped@example.com", adminTestPassword, "", false)
		grant := func(email, pw string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}
		}
		n := 0
		signIn := func(v url.Values) (int, http.Header, map[string]any) {
			n++ // a fresh address each time: the cap is not per address
			return postFrom(t, srv, fmt.Sprintf("198.51.100.%d", n), "/v1/token", form, v.Encode(), nil)
		}
		for _, email := range []string{"capped@example.com", "ghost@example.com"} {
			for i := range 5 {
				if status, _, body := signIn(grant(email, fmt.Sprintf("guess %d", i))); status != 400 || body["error"] != "invalid_grant" {
					t.Fatalf("%s: failure %d: %d %v", email, i+1, status, body)
				}
			}
			status, hdr, body := signIn(grant(email, adminTestPassword))
			retry, _ := strconv.Atoi(hdr.Get("Retry-After"))
			if status != 429 || body["error"] != "slow_down" || retry < 3000 || retry > 3600 {
				t.Fatalf("%s: after 5 failures from 5 addresses: %d %v Retry-After %q", email, status, body, hdr.Get("Retry-After"))
			}
		}

		// The owner recovers: the link works while the cap holds, and the
		// new password signs in at once.
		if status, _, body := postFrom(t, srv, "203.0.113.1", "/v1/recover", "application/json", `{"email":"capped@example.com"}`, nil); status != 202 {
			t.Fatalf("recover: %d %v", status, body)
		}
		link := testenv.Link(t, h.SMTP.WaitFor(t, "capped@example.com", 10*time.Second))
		if status, out := setWithLink(t, h, link, "Recovered-passw0rd!"); status != 204 {
			t.Fatalf("set with the link: %d %s", status, out)
		}
		if status, _, body := signIn(grant("capped@example.com", "Recovered-passw0rd!")); status != 200 {
			t.Fatalf("sign-in after recovery: %d %v", status, body)
		}

		// "Consecutive": a success starts the count again.
		for i := range 4 {
			if status, _, _ := signIn(grant("capped@example.com", "wrong")); status != 400 {
				t.Fatalf("failure %d after recovery: %d", i+1, status)
			}
		}
		if status, _, _ := signIn(grant("capped@example.com", "Recovered-passw0rd!")); status != 200 {
			t.Fatalf("success after 4 failures: %d", status)
		}
		for i := range 5 {
			if status, _, body := signIn(grant("capped@example.com", "wrong")); status != 400 {
				t.Fatalf("failure %d after a success: %d %v", i+1, status, body)
			}
		}
		if status, _, _ := signIn(grant("capped@example.com", "wrong")); status != 429 {
			t.Fatalf("6th failure after a success: %d", status)
		}
		h.Accounts.Wait()
	})
}

// The per-account cap cannot lock the owner out (review finding 8): before,
// 100 failures from 10 addresses, then one an hour, kept password sign-in
// at 429 for any email, and a recovery only gave the attacker a fresh
// count to spend. A client address that proved itself for the account
// (a sign-in, a completed recovery or set-password link) is spared the
// cap; every other address is capped as before, and the per-(email,
// address) failure limit still holds for known addresses.
func TestPerAccountCapSparesKnownAddresses(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.LoginPerAccount = ratelimit.Rule{Limit: 5, Per: 5 * time.Hour}
	testenv.ForEachMailBackend(t, cfg, func(t *testing.T, h *testenv.MailHarness) {
		srv := behindProxy(t, h.Harness)
		h.PasswordUser(t, "owner@example.com", adminTestPassword, "", false)
		h.PasswordUser(t, "neighbour@example.com", adminTestPassword, "", false)
		const home = "192.0.2.10"
		signIn := func(from, email, pw string) (int, http.Header, map[string]any) {
			v := url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}
			return postFrom(t, srv, from, "/v1/token", form, v.Encode(), nil)
		}
		n := 0
		lock := func(email string) {
			t.Helper()
			for i := range 5 {
				n++ // a fresh address each time
				if status, _, body := signIn(fmt.Sprintf("198.51.100.%d", n), email, fmt.Sprintf("guess %d", i)); status != 400 {
					t.Fatalf("%s: attacker's failure %d: %d %v", email, i+1, status, body)
				}
			}
			n++
			if status, hdr, body := signIn(fmt.Sprintf("198.51.100.%d", n), email, adminTestPassword); status != 429 || body["error"] != "slow_down" || hdr.Get("Retry-After") == "" {
				t.Fatalf("%s: a fresh address after 5 failures: %d %v", email, status, body)
			}
		}

		// The owner signs in at home: home becomes a known address.
		if status, _, body := signIn(home, "Owner@Example.com", adminTestPassword); status != 200 {
			t.Fatalf("first sign-in at home: %d %v", status, body)
		}
		lock("owner@example.com")
		if status, _, body := signIn(home, "owner@example.com", adminTestPassword); status != 200 {
			t.Fatalf("the owner at home, while the cap holds: %d %v", status, body)
		}
		// The attacker locks again; a fresh address is still refused, the
		// owner still is not.
		lock("owner@example.com")
		if status, _, body := signIn(home, "OWNER@example.com", adminTestPassword); status != 200 {
			t.Fatalf("the owner at home, capped again: %d %v", status, body)
		}
		// Known for that account only.
		lock("neighbour@example.com")
		if status, _, body := signIn(home, "neighbour@example.com", adminTestPassword); status != 429 {
			t.Fatalf("another account from the owner's address: %d %v", status, body)
		}

		// Away from home, capped: recovery from a new address makes that
		// address known too.
		const away = "203.0.113.7"
		lock("owner@example.com")
		if status, _, body := postFrom(t, srv, away, "/v1/recover", "application/json", `{"email":"owner@example.com"}`, nil); status != 202 {
			t.Fatalf("recover: %d %v", status, body)
		}
		link := testenv.Link(t, h.SMTP.WaitFor(t, "owner@example.com", 10*time.Second))
		set := fmt.Sprintf(`{"token":%q,"password":"Recovered-passw0rd!","password_confirmation":"Recovered-passw0rd!"}`, testenv.Token(link))
		if status, _, body := postFrom(t, srv, away, "/v1/password/set", "application/json", set, nil); status != 204 {
			t.Fatalf("set with the link: %d %v", status, body)
		}
		lock("owner@example.com")
		if status, _, body := signIn(away, "owner@example.com", "Recovered-passw0rd!"); status != 200 {
			t.Fatalf("from the address that completed the recovery, capped: %d %v", status, body)
		}

		// A known address still has its own failure limit (10 per 10
		// minutes per email and address).
		for i := range 10 {
			if status, _, body := signIn(home, "owner@example.com", fmt.Sprintf("typo %d", i)); status != 400 {
				t.Fatalf("failure %d at home: %d %v", i+1, status, body)
			}
		}
		if status, _, body := signIn(home, "owner@example.com", "Recovered-passw0rd!"); status != 429 {
			t.Fatalf("11th attempt at home after 10 failures: %d %v", status, body)
		}
		h.Accounts.Wait()
	})
}

// A page on another site can make a visitor's browser POST a form to
// /v1/token; before this was refused, ten such posts used up the visitor's
// own sign-in failures from their address. Cross-site browser requests are
// refused (403) before any limit is counted or consulted; servers (no
// Origin, no Sec-Fetch-Site), Latch's own origin and the origins of
// allow-listed redirects are served as before.
func TestTokenRefusesCrossSiteRequests(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.PublicURL = "https://id.example.test"
	cfg.RedirectAllowlist = []string{"https://app.example.org/callback"}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	srv := behindProxy(t, h)
	h.PasswordUser(t, "victim@example.com", adminTestPassword, "", false)
	const victim = "192.0.2.50"
	wrong := url.Values{"grant_type": {"password"}, "username": {"victim@example.com"}, "password": {"attacker guess"}}.Encode()
	for _, hdr := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}},
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://other.example.test"}},
		{"Origin": {"https://evil.example"}},                    // an older browser: no Sec-Fetch-Site
		{"Origin": {"null"}},                                    // a sandboxed frame, a data: URL
		{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"null"}}, // what CrossOriginProtection alone lets through
	} {
		for range 15 {
			status, _, body := postFrom(t, srv, victim, "/v1/token", form, wrong, hdr)
			if status != 403 || body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), "cross-site") {
				t.Fatalf("%v: %d %v", hdr, status, body)
			}
		}
	}
	// The victim, from the same address, is not limited.
	right := url.Values{"grant_type": {"password"}, "username": {"victim@example.com"}, "password": {adminTestPassword}}.Encode()
	for _, hdr := range []http.Header{
		nil, // a server
		{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"https://id.example.test"}},
		{"Origin": {"https://id.example.test"}},
		{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example.org"}}, // an allow-listed app
		{"Sec-Fetch-Site": {"none"}},                                              // typed by the user
	} {
		if status, _, body := postFrom(t, srv, victim, "/v1/token", form, right, hdr); status != 200 {
			t.Fatalf("%v: %d %v", hdr, status, body)
		}
	}
}
