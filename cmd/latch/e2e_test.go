package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// binary is the latch binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "latch")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building latch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is a configuration of the built binary: every command it runs
// shares the same environment (database, hashing settings, address).
type instance struct {
	env  []string
	base string
	// log is what `latch serve` printed, once serve ran.
	log *lockedBuffer
}

// lockedBuffer is a bytes.Buffer the serving process writes to while a
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	if b == nil {
		return "(not serving)"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newInstance(t *testing.T, databaseURL string) *instance {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := append(os.Environ(),
		"LATCH_DATABASE_URL="+databaseURL,
		"LATCH_ADDR="+addr,
		"LATCH_ARGON2_MEMORY_KIB=1024", "LATCH_ARGON2_TIME=1",
		"LATCH_LOG_LEVEL=warn",
		// Failed sign-ins answer at once: the floor (about a second here)
		// has tests of its own, and these only count failures.
		"LATCH_LOGIN_FAILURE_FLOOR=off",
	)
	return &instance{env: env, base: "http://" + addr}
}

// newInstanceWithDex is an instance on SQLite with a running Dex configured
// as its provider "dex".
func newInstanceWithDex(t *testing.T, extraEnv ...string) (*instance, testenv.Dex) {
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	dex := testenv.StartDex(t, in.base+"/v1/oauth/dex/callback")
	in.env = append(in.env, "LATCH_PROVIDERS=dex", "LATCH_PROVIDER_DEX_ISSUER="+dex.Issuer,
		"LATCH_PROVIDER_DEX_CLIENT_ID="+dex.ClientID, "LATCH_PROVIDER_DEX_CLIENT_SECRET="+dex.ClientSecret)
	in.env = append(in.env, extraEnv...)
	return in, dex
}

// cli runs a latch command and returns its stdout; it fails the test on a
// non-zero exit.
func (in *instance) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := in.run(stdin, args...)
	if code != 0 {
		t.Fatalf("latch %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (in *instance) run(stdin string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(binary, args...)
	cmd.Env = in.env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		return o.String(), err.Error(), -1
	}
	return o.String(), e.String(), 0
}

// serve starts `latch serve` and waits for /healthz.
func (in *instance) serve(t *testing.T) {
	t.Helper()
	cmd := exec.Command(binary, "serve")
	cmd.Env = in.env
	logs := &lockedBuffer{}
	in.log = logs
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("latch serve exited with %v; logs:\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("latch serve did not stop on SIGINT")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(in.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("latch serve did not become healthy; logs:\n%s", logs.String())
}

func (in *instance) call(t *testing.T, method, path, bearer, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, in.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

func (in *instance) login(t *testing.T, email, pw string) (int, map[string]any) {
	t.Helper()
	return in.call(t, "POST", "/users/login", "", "application/json", fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw))
}

// TestEndToEnd drives the built binary through seed 000's whole journey:
// an OAuth user made by the CLI sets a password with its own token, logs
// in, refreshes (rotation), has an old refresh token reused (session
// revoked), and changes its password (other sessions revoked, old password
// refused).
func TestEndToEnd(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + testenv.SQLitePath(t) },
		"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
	}
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, dsn(t))
			// A short reuse interval, so that the journey can wait it out.
			const reuseInterval = 2 * time.Second
			in.env = append(in.env, "LATCH_REFRESH_REUSE_INTERVAL="+reuseInterval.String())
			in.cli(t, "", "migrate")
			var created struct {
				ID     string `json:"id"`
				Number int64  `json:"number"`
				Email  string `json:"email"`
			}
			out := in.cli(t, "", "users", "create", "--email", "E2E@Example.com", "--provider", "google", "--subject", "g-1234")
			if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" || created.Number < 1 || created.Email != "e2e@example.com" {
				t.Fatalf("users create printed %q", out)
			}
			lines := strings.Split(strings.TrimSpace(in.cli(t, "", "tokens", "issue", "--email", "e2e@example.com")), "\n")
			oauthToken := lines[len(lines)-1]
			in.serve(t)

			const first, second = "first journey passphrase", "second journey passphrase"
			if s, b := in.call(t, "POST", "/users/me/password", oauthToken, "application/json", fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, first, first)); s != 204 {
				t.Fatalf("set password: %d %v", s, b)
			}
			s, loginA := in.login(t, "e2e@example.com", first)
			if s != 200 || loginA["token_type"] != "Bearer" {
				t.Fatalf("login: %d %v", s, loginA)
			}

			// Refresh rotates the refresh token.
			s, rotated := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {loginA["refresh_token"].(string)}}.Encode())
			if s != 200 || rotated["refresh_token"] == loginA["refresh_token"] {
				t.Fatalf("refresh: %d %v", s, rotated)
			}
			if s, _ := in.call(t, "GET", "/v1/me", rotated["access_token"].(string), "", ""); s != 200 {
				t.Fatalf("/v1/me with the rotated token: %d", s)
			}
			// Within the reuse interval (a second tab), the old refresh
			// token gets the same successor.
			s, again := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {loginA["refresh_token"].(string)}}.Encode())
			if s != 200 || again["refresh_token"] != rotated["refresh_token"] {
				t.Fatalf("refresh again within the reuse interval: %d %v, want %v", s, again, rotated["refresh_token"])
			}
			// Past it, reusing the old refresh token revokes the session.
			time.Sleep(reuseInterval)
			s, reuse := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {loginA["refresh_token"].(string)}}.Encode())
			if s != 400 || reuse["error"] != "invalid_grant" {
				t.Fatalf("reuse: %d %v", s, reuse)
			}
			if s, _ := in.call(t, "GET", "/v1/me", rotated["access_token"].(string), "", ""); s != 401 {
				t.Fatalf("/v1/me after reuse: %d, want 401", s)
			}

			// Change the password from session B: session C and the OAuth
			// session die, B lives, the old password stops working.
			_, loginB := in.login(t, "e2e@example.com", first)
			_, loginC := in.login(t, "e2e@example.com", first)
			tokenB, tokenC := loginB["access_token"].(string), loginC["access_token"].(string)
			if s, b := in.call(t, "POST", "/users/me/password", tokenB, "application/json",
				fmt.Sprintf(`{"password":%q,"password_confirmation":%q,"current_password":%q}`, second, second, first)); s != 204 {
				t.Fatalf("change password: %d %v", s, b)
			}
			for name, tok := range map[string]string{"session C": tokenC, "OAuth session": oauthToken} {
				if s, _ := in.call(t, "GET", "/v1/me", tok, "", ""); s != 401 {
					t.Errorf("%s after the change: %d, want 401", name, s)
				}
			}
			if s, _ := in.call(t, "GET", "/v1/me", tokenB, "", ""); s != 200 {
				t.Errorf("session B after its own change: %d, want 200", s)
			}
			if s, _ := in.login(t, "e2e@example.com", first); s != 401 {
				t.Errorf("old password: %d, want 401", s)
			}
			if s, _ := in.login(t, "e2e@example.com", second); s != 200 {
				t.Errorf("new password: %d, want 200", s)
			}

			var shown map[string]any
			if err := json.Unmarshal([]byte(in.cli(t, "", "users", "show", "--email", "e2e@EXAMPLE.com")), &shown); err != nil {
				t.Fatal(err)
			}
			ids, _ := shown["identities"].([]any)
			if shown["has_password"] != true || shown["id"] != created.ID || len(ids) != 1 || ids[0].(map[string]any)["provider"] != "google" {
				t.Fatalf("users show = %v", shown)
			}
			for k := range shown {
				if strings.Contains(strings.ToLower(k), "hash") {
					t.Fatalf("users show prints %s", k)
				}
			}
		})
	}
}

// TestTwoReplicas runs two `latch serve` processes on one PostgreSQL and
// one Redis, as a scaled-out deployment does: a password set through one
// logs in through the other, a logout on one is refused by the other at
// once, and failed logins count against one shared limit.
func TestTwoReplicas(t *testing.T) {
	dsn := testenv.PostgresURL(t)
	redisURL := os.Getenv("LATCH_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = testenv.DefaultRedisURL
	}
	testenv.Redis(t) // skip, or fail under CI, without Redis
	prefix := "LATCH_REDIS_PREFIX=" + testenv.RedisPrefix(t)
	a, b := newInstance(t, dsn), newInstance(t, dsn)
	// Replicas behind one load balancer share the public URL, which is the
	// issuer of their tokens.
	public := "LATCH_PUBLIC_URL=https://id.example.test"
	// This test is about the shared count, not the fallback: a Redis call
	// slowed past the default 200 ms by a loaded machine (the race
	// detector, CI) would hand each replica its own count, as designed,
	// and 5 failures each would not reach the limit. TestRedisOutage and
	// the ratelimit tests cover the fallback.
	slack := "LATCH_REDIS_TIMEOUT=10s"
	a.env = append(a.env, "LATCH_REDIS_URL="+redisURL, prefix, public, slack, "LATCH_LOG_LEVEL=debug")
	b.env = append(b.env, "LATCH_REDIS_URL="+redisURL, prefix, public, slack, "LATCH_LOG_LEVEL=debug")
	a.cli(t, "", "migrate")
	a.cli(t, "", "users", "create", "--email", "replica@example.com", "--provider", "github", "--subject", "gh-1")
	lines := strings.Split(strings.TrimSpace(a.cli(t, "", "tokens", "issue", "--email", "replica@example.com")), "\n")
	a.serve(t)
	b.serve(t)

	const pw = "one database, two servers"
	if s, body := a.call(t, "POST", "/users/me/password", lines[len(lines)-1], "application/json", fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, pw, pw)); s != 204 {
		t.Fatalf("set password on A: %d %v", s, body)
	}
	s, login := b.login(t, "replica@example.com", pw)
	if s != 200 {
		t.Fatalf("login on B: %d %v", s, login)
	}
	access := login["access_token"].(string)
	if s, _ := a.call(t, "GET", "/v1/me", access, "", ""); s != 200 {
		t.Fatalf("B's token on A: %d", s)
	}
	if s, _ := a.call(t, "POST", "/v1/logout", access, "", ""); s != 204 {
		t.Fatalf("logout on A: %d", s)
	}
	if s, _ := b.call(t, "GET", "/v1/me", access, "", ""); s != 401 {
		t.Fatalf("B accepts a token A logged out: %d", s)
	}
	// Both replicas keep limits in Redis before the count starts: a
	// replica whose first Redis call failed (a connection lost on a
	// loaded machine) counts in process until its background check
	// answers, as designed, and this test is about the shared count.
	for name, in := range map[string]*instance{"A": a, "B": b} {
		deadline := time.Now().Add(15 * time.Second)
		for getMetrics(t, in.base).values["latch_ratelimit_shared_down"] != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("replica %s still keeps limits in process; its log:\n%s", name, in.log.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Ten failures spread over both replicas exhaust the one limit.
	for i := range 10 {
		in := []*instance{a, b}[i%2]
		if s, _ := in.login(t, "replica@example.com", "wrong password"); s != 401 {
			t.Fatalf("failure %d: %d", i+1, s)
		}
	}
	for name, in := range map[string]*instance{"A": a, "B": b} {
		if s, _ := in.login(t, "replica@example.com", pw); s != 429 {
			t.Errorf("replica %s after 10 shared failures: %d, want 429; its log:\n%s", name, s, in.log.String())
		}
	}
}

// TestCLIErrors: operator mistakes exit non-zero with a message, and never
// with a stack trace.
func TestCLIErrors(t *testing.T) {
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	in.cli(t, "swordfish horizon 42\n", "users", "create", "--email", "dup@example.com", "--password-stdin")
	cases := []struct {
		args  []string
		stdin string
		code  int
		says  string
	}{
		{[]string{"frobnicate"}, "", 2, "unknown command"},
		{[]string{"users", "create"}, "", 2, "--email is required"},
		{[]string{"users", "create", "--email", "x@example.com", "--provider", "myspace", "--subject", "1"}, "", 2, "unknown --provider"},
		{[]string{"users", "create", "--email", "x@example.com", "--provider", "github"}, "", 2, "needs --subject"},
		{[]string{"users", "create", "--email", "DUP@example.com"}, "", 1, "email already registered"},
		{[]string{"users", "create", "--email", "weak@example.com", "--password-stdin"}, "password\n", 1, "too common"},
		{[]string{"users", "show", "--email", "ghost@example.com"}, "", 1, "not_found"},
		{[]string{"tokens", "issue", "--email", "dup@example.com", "--kind", "root"}, "", 2, "unknown --kind"},
		{[]string{"users", "show", "--bogus"}, "", 2, "unknown flag --bogus"},
	}
	for _, c := range cases {
		_, stderr, code := in.run(c.stdin, c.args...)
		if code != c.code || !strings.Contains(stderr, c.says) || strings.Contains(stderr, "goroutine") {
			t.Errorf("latch %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, stderr, c.code, c.says)
		}
	}
	bad := &instance{env: append(os.Environ(), "LATCH_DATABASE_URL=mysql://root:secret@db/x")}
	if _, stderr, code := bad.run("", "migrate"); code != 1 || strings.Contains(stderr, "secret") || !strings.Contains(stderr, "LATCH_DATABASE_URL") {
		t.Errorf("bad database URL: exit %d, %q", code, stderr)
	}
	bad = &instance{env: append(os.Environ(), "LATCH_KEY_ENCRYPTION_KEY=dG9vIHNob3J0", "LATCH_DATABASE_URL=sqlite://"+testenv.SQLitePath(t))}
	if _, stderr, code := bad.run("", "migrate"); code != 1 || !strings.Contains(stderr, "LATCH_KEY_ENCRYPTION_KEY") {
		t.Errorf("short key encryption key: exit %d, %q", code, stderr)
	}
	for _, env := range [][]string{
		{"LATCH_ADDR=:8080"}, // no host for the links
		{"LATCH_PUBLIC_URL=id.example.com"},
		{"LATCH_SMTP_URL=smtp://user:hunter2@mail.example.com?tls=opportunistic"},
		{"LATCH_SMTP_URL=smtp://mail.example.com", "LATCH_MAIL_FROM=not an address"},
		{"LATCH_MAIL=maybe"},
	} {
		bad = &instance{env: append(append(os.Environ(), "LATCH_DATABASE_URL=sqlite://"+testenv.SQLitePath(t)), env...)}
		name, _, _ := strings.Cut(env[len(env)-1], "=")
		if _, stderr, code := bad.run("", "migrate"); code != 1 || !strings.Contains(stderr, name) || strings.Contains(stderr, "hunter2") {
			t.Errorf("%v: exit %d: %s", env, code, stderr)
		}
	}
	bad = &instance{env: append(os.Environ(), "LATCH_ARGON2_TIME=zero", "LATCH_DATABASE_URL=sqlite://"+testenv.SQLitePath(t))}
	if _, stderr, code := bad.run("", "migrate"); code != 1 || !strings.Contains(stderr, "LATCH_ARGON2_TIME") {
		t.Errorf("bad argon2 time: exit %d, %q", code, stderr)
	}
}

// TestSignInWithDexThenPassword is issue 4's journey on the built binary
// with a real Dex and no shortcut through the CLI: sign in at Dex through
// the whole redirect chain, redeem the one-time code for tokens, set a
// password with seed 000's endpoint, and log in with it.
func TestSignInWithDexThenPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := "http://" + ln.Addr().String() + "/app/callback"
	ln.Close()
	in, dex := newInstanceWithDex(t, "LATCH_REDIRECT_ALLOWLIST="+app)
	in.serve(t)

	verifier := "the-app-s-pkce-verifier-0123456789-abcdefghijklmnop"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	start := in.base + "/v1/oauth/dex/start?" + url.Values{"redirect_to": {app}, "code_challenge": {challenge}, "state": {"app-state"}}.Encode()
	browser := testenv.NewBrowser(app)
	landed := browser.SignInAtDex(t, dex, start)
	if landed.Query().Get("state") != "app-state" || landed.Query().Get("code") == "" || landed.Query().Get("error") != "" {
		t.Fatalf("landed on %s", landed)
	}
	base, _ := url.Parse(in.base)
	for _, c := range browser.Jar.Cookies(base) {
		if strings.Contains(c.Value, landed.Query().Get("code")) {
			t.Fatal("the code is in a cookie")
		}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {landed.Query().Get("code")}, "code_verifier": {verifier}, "redirect_uri": {app}}
	s, tok := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded", form.Encode())
	if s != 200 || tok["refresh_token"] == "" {
		t.Fatalf("code exchange: %d %v", s, tok)
	}
	if s, again := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded", form.Encode()); s != 400 || again["error"] != "invalid_grant" {
		t.Fatalf("the code redeemed twice: %d %v", s, again)
	}
	const pw = "a password after dex"
	if s, body := in.call(t, "POST", "/users/me/password", tok["access_token"].(string), "application/json", fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, pw, pw)); s != 204 {
		t.Fatalf("set password: %d %v", s, body)
	}
	if s, body := in.login(t, dex.Email, pw); s != 200 {
		t.Fatalf("login with the new password: %d %v", s, body)
	}
	// The app can also send people to Latch's /login page, where the
	// password form ends with a one-time code as the provider buttons do.
	loginURL := in.base + "/login?" + url.Values{"redirect_to": {app}, "code_challenge": {challenge}, "state": {"app-state-2"}}.Encode()
	pageBrowser := testenv.NewBrowser(app)
	res, err := pageBrowser.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self' "+strings.TrimSuffix(app, "/app/callback")) {
		t.Fatalf("/login for an app: %d %s", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	if !strings.Contains(string(body), `name="redirect_to" value="`+app+`"`) {
		t.Fatalf("/login for an app does not carry redirect_to: %s", body)
	}
	form = url.Values{"email": {dex.Email}, "password": {pw},
		"redirect_to": {app}, "code_challenge": {challenge}, "state": {"app-state-2"}}
	res, err = pageBrowser.PostForm(in.base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if pageBrowser.Landed == nil || pageBrowser.Landed.Query().Get("state") != "app-state-2" || pageBrowser.Landed.Query().Get("code") == "" {
		t.Fatalf("password form for an app landed on %v (%s)", pageBrowser.Landed, res.Status)
	}
	form = url.Values{"grant_type": {"authorization_code"}, "code": {pageBrowser.Landed.Query().Get("code")}, "code_verifier": {verifier}, "redirect_uri": {app}}
	if s, tok := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded", form.Encode()); s != 200 || tok["access_token"] == nil {
		t.Fatalf("code from the password form: %d %v", s, tok)
	}

	var shown map[string]any
	_ = json.Unmarshal([]byte(in.cli(t, "", "users", "show", "--email", dex.Email)), &shown)
	ids, _ := shown["identities"].([]any)
	if shown["verified"] != true || len(ids) != 1 || ids[0].(map[string]any)["provider"] != "oidc" {
		t.Fatalf("users show = %v", shown)
	}
}

// TestPagesJourney walks Latch's own pages as a browser without
// JavaScript would: the provider button on /login, Dex's form, the account
// page, setting a password there, signing out, and signing in on /login
// with that password.
func TestPagesJourney(t *testing.T) {
	in, dex := newInstanceWithDex(t)
	in.serve(t)
	browser := testenv.NewBrowser("never:")
	page := func(res *http.Response, err error) (string, *http.Response) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body), res
	}
	body, res := page(browser.Get(in.base + "/login"))
	if res.StatusCode != 200 || !strings.Contains(body, `id="provider-dex"`) || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("/login: %d %s", res.StatusCode, body)
	}
	link := regexp.MustCompile(`id="provider-dex" href="([^"]+)"`).FindStringSubmatch(body)[1]
	body, res = page(browser.Get(in.base + html.UnescapeString(link)))
	if !strings.HasPrefix(res.Request.URL.String(), dex.Issuer) {
		t.Fatalf("the provider button did not lead to Dex: %s", res.Request.URL)
	}
	body, res = page(browser.PostForm(res.Request.URL.String(), url.Values{"login": {dex.Email}, "password": {dex.Password}}))
	if res.Request.URL.Path != "/account" || !strings.Contains(body, "Set a password") || !strings.Contains(body, dex.Email) {
		t.Fatalf("after Dex: %s %d %s", res.Request.URL, res.StatusCode, body)
	}
	// A policy failure is shown next to the field, and nothing is saved.
	body, res = page(browser.PostForm(in.base+"/account/password", url.Values{"password": {"short"}, "password_confirmation": {"short"}}))
	if res.StatusCode != 422 || !strings.Contains(body, "at least 8 characters") {
		t.Fatalf("short password: %d %s", res.StatusCode, body)
	}
	// The same form posted by another site's page, with the session
	// cookie a browser would attach, is refused.
	const pw = "a fine page password"
	forged, _ := http.NewRequest("POST", in.base+"/account/password", strings.NewReader(url.Values{"password": {pw}, "password_confirmation": {pw}}.Encode()))
	forged.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	forged.Header.Set("Origin", "https://evil.example")
	_, res = page(browser.Do(forged))
	if res.StatusCode != 403 {
		t.Fatalf("cross-site POST: %d", res.StatusCode)
	}
	body, res = page(browser.PostForm(in.base+"/account/password", url.Values{"password": {pw}, "password_confirmation": {pw}}))
	if res.StatusCode != 200 || !strings.Contains(body, "Your password is saved") || !strings.Contains(body, "Change your password") {
		t.Fatalf("set password: %d %s", res.StatusCode, body)
	}
	_, res = page(browser.PostForm(in.base+"/logout", url.Values{}))
	if res.Request.URL.Path != "/login" {
		t.Fatalf("sign out landed on %s", res.Request.URL)
	}
	body, res = page(browser.Get(in.base + "/account"))
	if res.Request.URL.Path != "/login" {
		t.Fatalf("the account page after signing out: %s", res.Request.URL)
	}
	body, res = page(browser.PostForm(in.base+"/login", url.Values{"email": {dex.Email}, "password": {"wrong password"}}))
	if res.StatusCode != 401 || !strings.Contains(body, "do not match") {
		t.Fatalf("wrong password on /login: %d %s", res.StatusCode, body)
	}
	body, res = page(browser.PostForm(in.base+"/login", url.Values{"email": {dex.Email}, "password": {pw}}))
	if res.Request.URL.Path != "/account" || !strings.Contains(body, dex.Email) {
		t.Fatalf("password sign-in on /login: %s %d %s", res.Request.URL, res.StatusCode, body)
	}
}
