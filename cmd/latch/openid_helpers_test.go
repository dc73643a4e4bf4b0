package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/latchid/latch/internal/testenv"
)

// The helpers of the OpenID Provider's end-to-end tests (issue 15): a
// Latch with one password user, apps registered with the CLI, and a
// browser without JavaScript (an HTTP client with a cookie jar) that
// fills in Latch's forms as a person would.

// openIDStores are the backends every OpenID journey runs on.
var openIDStores = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return "sqlite://" + testenv.SQLitePath(t) },
	"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
}

// The password user of every OpenID test's Latch.
const (
	opEmail    = "person@example.com"
	opPassword = "correct horse battery staple 15"
)

// openIDInstance is a migrated Latch on dsn with the password user
// opEmail (not yet serving, so that a test can register apps first).
// It returns the user's id.
func openIDInstance(t *testing.T, dsn string) (*instance, string) {
	t.Helper()
	in := newInstance(t, dsn)
	in.cli(t, "", "migrate")
	var user struct{ ID string }
	decode(t, in.cli(t, opPassword+"\n", "users", "create", "--email", opEmail, "--password-stdin"), &user)
	return in, user.ID
}

// registeredApp is what `latch apps create` printed.
type registeredApp struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	TenantID     string   `json:"tenant_id"`
	RedirectURIs []string `json:"redirect_uris"`
}

// createApp registers an app with `latch apps create args...`.
func createApp(t *testing.T, in *instance, args ...string) registeredApp {
	t.Helper()
	var app registeredApp
	decode(t, in.cli(t, "", append([]string{"apps", "create"}, args...)...), &app)
	if app.ClientID == "" {
		t.Fatalf("latch apps create %v printed no client_id", args)
	}
	return app
}

// freeLoopback returns host:port of a free port on 127.0.0.1.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pkce is a PKCE pair (RFC 7636, S256).
type pkce struct{ verifier, challenge string }

func newPKCE(seed string) pkce {
	v := strings.Repeat(seed+"-", 43/len(seed)+2)[:64]
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizeParams is a complete, valid authorization request of app
// with p's challenge; tests change what they test.
func authorizeParams(app registeredApp, redirectURI string, p pkce, state, nonce string) url.Values {
	return url.Values{
		"client_id": {app.ClientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid email profile offline_access"}, "state": {state}, "nonce": {nonce},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
	}
}

// agent is a browser without JavaScript: a cookie jar, redirects followed
// except to URLs under stopAt (an app's redirect URI, where nothing need
// listen) or outside within, every redirect target remembered, and Origin
// on its POSTs as a browser sends it.
type agent struct {
	client *http.Client
	stopAt string
	// within, when set, stops every redirect that leaves it too.
	within string
	landed *url.URL // the redirect where the agent stopped, once there was one
	hops   []string // every redirect's target, in order
}

func newAgent(stopAt string) *agent {
	jar, _ := cookiejar.New(nil)
	a := &agent{stopAt: stopAt}
	a.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		a.hops = append(a.hops, req.URL.String())
		if a.stopAt != "" && strings.HasPrefix(req.URL.String(), a.stopAt) || a.within != "" && !strings.HasPrefix(req.URL.String(), a.within) {
			a.landed = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return a
}

// page is a response as the agent saw it, body read.
type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (a *agent) do(t *testing.T, req *http.Request) page {
	t.Helper()
	res, err := a.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, header: res.Header, body: string(body)}
}

func (a *agent) get(t *testing.T, u string) page {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.do(t, req)
}

// post submits form to u as a form on u's own origin would.
func (a *agent) post(t *testing.T, u string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	return a.do(t, req)
}

// htmlForm is a form of a page: where it posts, its inputs' values, and
// its buttons' name=value pairs.
type htmlForm struct {
	action  string
	fields  url.Values
	buttons []url.Values
}

// forms parses the page's forms.
func (p page) forms() []*htmlForm {
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		return nil
	}
	attr := func(n *html.Node, key string) string {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val
			}
		}
		return ""
	}
	var out []*htmlForm
	var walk func(n *html.Node, f *htmlForm)
	walk = func(n *html.Node, f *htmlForm) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "form":
				f = &htmlForm{action: attr(n, "action"), fields: url.Values{}}
				out = append(out, f)
			case f != nil && n.Data == "input" && attr(n, "name") != "" && attr(n, "type") != "submit":
				f.fields.Add(attr(n, "name"), attr(n, "value"))
			case f != nil && (n.Data == "button" || n.Data == "input") && attr(n, "name") != "":
				f.buttons = append(f.buttons, url.Values{attr(n, "name"): {attr(n, "value")}})
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return out
}

// form returns the page's form that posts to path (on any origin), and
// fails the test, naming what the page showed, when there is none.
func (p page) form(t *testing.T, path string) htmlForm {
	t.Helper()
	for _, f := range p.forms() {
		if u, err := url.Parse(f.action); err == nil && u.Path == path {
			return *f
		}
	}
	t.Fatalf("no form posting to %s on %s (%d):\n%s", path, p.url, p.status, p.body)
	return htmlForm{}
}

// with returns the form's fields with extra set (for a submission).
func (f htmlForm) with(extra url.Values) url.Values {
	out := url.Values{}
	for k, v := range f.fields {
		out[k] = append([]string(nil), v...)
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// hasButton reports whether the form has a button name=value.
func (f htmlForm) hasButton(name, value string) bool {
	for _, b := range f.buttons {
		if b.Get(name) == value && b.Has(name) {
			return true
		}
	}
	return false
}

// resolve makes a form's action absolute against the page it is on.
func (p page) resolve(action string) string {
	u, err := p.url.Parse(action)
	if err != nil {
		return action
	}
	return u.String()
}

// signInAtLatch is a person's part of an authorization request: it opens
// authorizeURL, signs in on Latch's login page, allows the consent page
// when consent is true, and returns where Latch sent the browser back
// (under the agent's stopAt).
func (a *agent) signInAtLatch(t *testing.T, authorizeURL, email, password string, consent bool) *url.URL {
	t.Helper()
	p := a.get(t, authorizeURL)
	login := p.form(t, "/login")
	if login.fields.Get("authorize") == "" {
		t.Fatalf("the login page for an authorization request has no hidden input authorize: %v", login.fields)
	}
	p = a.post(t, p.resolve(login.action), login.with(url.Values{"email": {email}, "password": {password}}))
	if consent {
		f := p.form(t, "/oauth2/consent")
		if !f.hasButton("decision", "allow") || !f.hasButton("decision", "deny") {
			t.Fatalf("the consent page's form has no allow and deny buttons: %+v", f.buttons)
		}
		p = a.post(t, p.resolve(f.action), f.with(url.Values{"decision": {"allow"}}))
	}
	if a.landed == nil {
		t.Fatalf("after signing in the browser is at %s (%d), not back at %s:\n%s", p.url, p.status, a.stopAt, p.body)
	}
	return a.landed
}

// tokenRequest posts form to Latch's token endpoint family at path as
// app: HTTP Basic with a secret, client_id in the form without.
func tokenRequest(t *testing.T, in *instance, path string, app registeredApp, form url.Values) (int, map[string]any) {
	t.Helper()
	body := url.Values{}
	for k, v := range form {
		body[k] = v
	}
	if app.ClientSecret == "" {
		body.Set("client_id", app.ClientID)
	}
	req, err := http.NewRequest("POST", in.base+path, strings.NewReader(body.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if app.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(app.ClientID), url.QueryEscape(app.ClientSecret))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("POST %s: %d, not JSON: %q", path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

// userinfo calls Latch's userinfo endpoint with an access token.
func userinfo(t *testing.T, in *instance, accessToken string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.base+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// noFollow answers one request without following a redirect.
func noFollow(t *testing.T, u string) page {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, header: res.Header, body: string(body)}
}

// exampleApp builds examples/oidc-app once, next to the latch binary.
var exampleApp = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(binary), "oidc-app")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/oidc-app")
	cmd.Dir = "../.."
	cmd.Stderr = os.Stderr
	return bin, cmd.Run()
})

// readmeSection returns the README's section under heading, up to the
// next heading of its level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	s = s[i+len(heading)+2:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// codeBlocks returns the bodies of the section's fenced blocks whose info
// string starts with lang.
func codeBlocks(section, lang string) []string {
	var out []string
	for rest := section; ; {
		i := strings.Index(rest, "\n```"+lang)
		if i < 0 {
			return out
		}
		rest = rest[i+1:]
		start := strings.Index(rest, "\n") + 1
		end := strings.Index(rest[start:], "\n```")
		if end < 0 {
			return out
		}
		out = append(out, rest[start:start+end+1])
		rest = rest[start+end+4:]
	}
}
