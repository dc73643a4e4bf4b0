package testenv

import (
	"bytes"
	"fmt"
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
	"time"
)

// Dex is a running Dex, the OIDC provider, with one static client and one
// password user.
type Dex struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Email        string
	Password     string
}

// The password user of every test Dex (its bcrypt hash is in the config).
const (
	DexEmail    = "user@example.com"
	DexPassword = "password"
)

var dexBinary = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("LATCH_TEST_DEX"); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "build-dex.sh"))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", &exec.Error{Name: "scripts/build-dex.sh", Err: err}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
})

// repoRoot finds the directory of Latch's go.mod above the working
// directory (a test runs in its package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/latchid/latch\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// DexUser is a password user of a test Dex. Dex's subject for a password
// user is derived from UserID alone (and the connector, "local"), so two
// Dex instances given the same UserID hand out the same subject: two
// issuers, one sub, as the identity tests need.
type DexUser struct {
	Email  string
	UserID string
}

// DefaultDexUser is the password user of StartDex.
var DefaultDexUser = DexUser{Email: DexEmail, UserID: "0b5c6a8e-3c1f-4a55-9a1e-7f2d9c0e4b11"}

// StartDex runs Dex on a free loopback port, allowing redirectURL for its
// client, until t ends. Dex is built once by scripts/build-dex.sh (or
// taken from LATCH_TEST_DEX); without it the test is skipped, or fails
// under CI=true.
func StartDex(t testing.TB, redirectURL string) Dex {
	t.Helper()
	return StartDexWith(t, redirectURL, DefaultDexUser)
}

// StartDexWith is StartDex with the given password users (each with
// DexPassword, and an email Dex reports as verified); the returned Dex
// signs in as the first.
func StartDexWith(t testing.TB, redirectURL string, users ...DexUser) Dex {
	t.Helper()
	d := Dex{Issuer: ReserveDexIssuer(t), ClientID: "latch-test", ClientSecret: "latch-test-secret", Email: users[0].Email, Password: DexPassword}
	var passwords strings.Builder
	for _, u := range users {
		// Every user's password is DexPassword ("password", bcrypt cost 10).
		fmt.Fprintf(&passwords, `  - email: %q
    hash: "$2a$10$2BAa6Xl5adnKLrdO4c0C9.5/kUT6cYLiQnpkA40OBEk7HBGbO57fq"
    username: %q
    userID: %q
`, u.Email, strings.Split(u.Email, "@")[0], u.UserID)
	}
	config := `issuer: ` + d.Issuer + `
storage:
  type: memory
web:
  http: ` + dexAddr(d.Issuer) + `
logger:
  level: warn
oauth2:
  skipApprovalScreen: true
staticClients:
  - id: ` + d.ClientID + `
    name: Latch test
    secret: ` + d.ClientSecret + `
    redirectURIs:
      - ` + redirectURL + `
enablePasswordDB: true
staticPasswords:
` + passwords.String()
	runDex(t, d.Issuer, config)
	return d
}

// ReserveDexIssuer picks a free loopback port for a Dex and returns the
// issuer it will have there: a provider upstream of Dex must know Dex's
// callback (DexCallback) before Dex starts, as Dex reads the upstream's
// discovery when it starts.
func ReserveDexIssuer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String() + "/dex"
}

// DexCallback is the redirect URI of a Dex at issuer for its upstream
// providers.
func DexCallback(issuer string) string { return issuer + "/callback" }

// dexAddr is the host:port of a Dex's issuer.
func dexAddr(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Host
}

// DexUpstream is an OpenID provider that Dex signs people in through
// (Dex's oidc connector, id "upstream"): Dex is then its relying party.
type DexUpstream struct {
	Issuer, ClientID, ClientSecret string
	// Scopes are what Dex asks for besides openid, which it always asks
	// for; Dex's default is profile and email.
	Scopes []string
	// GetUserInfo: Dex also asks the upstream's userinfo endpoint.
	GetUserInfo bool
}

// StartDexWithUpstream runs Dex at issuer (from ReserveDexIssuer) until t
// ends, with up as its only way to sign in (no password users, so Dex
// goes to the upstream at once) and its static client (ClientID and
// ClientSecret as StartDex's) allowed redirectURL. up must be serving:
// Dex reads its discovery when it starts.
func StartDexWithUpstream(t testing.TB, issuer, redirectURL string, up DexUpstream) Dex {
	t.Helper()
	d := Dex{Issuer: issuer, ClientID: "latch-test", ClientSecret: "latch-test-secret"}
	scopes := ""
	for _, s := range up.Scopes {
		scopes += "\n        - " + s
	}
	if scopes != "" {
		scopes = "\n      scopes:" + scopes
	}
	config := fmt.Sprintf(`issuer: %s
storage:
  type: memory
web:
  http: %s
logger:
  level: warn
oauth2:
  skipApprovalScreen: true
staticClients:
  - id: %s
    name: Latch test
    secret: %s
    redirectURIs:
      - %s
connectors:
  - type: oidc
    id: upstream
    name: Upstream
    config:
      issuer: %s
      clientID: %q
      clientSecret: %q
      redirectURI: %s
      getUserInfo: %t%s
`, d.Issuer, dexAddr(d.Issuer), d.ClientID, d.ClientSecret, redirectURL,
		up.Issuer, up.ClientID, up.ClientSecret, DexCallback(d.Issuer), up.GetUserInfo, scopes)
	runDex(t, d.Issuer, config)
	return d
}

// runDex runs the Dex binary with config until t ends, and waits until
// it serves its discovery at issuer. Without the binary the test is
// skipped, or fails under CI=true.
func runDex(t testing.TB, issuer, config string) {
	t.Helper()
	bin, err := dexBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Dex unavailable: %v", err)
		}
		t.Skipf("Dex unavailable (scripts/build-dex.sh or LATCH_TEST_DEX): %v", err)
	}
	path := filepath.Join(t.TempDir(), "dex.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", path)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Dex exits with status 2 on SIGTERM ("received signal"): expected.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Dex did not start; its output:\n%s", logs.String())
}

// Browser is an HTTP client with a cookie jar that follows redirects like
// a browser until one leads under StopAt; that URL is kept in Landed
// instead of being requested (nothing needs to listen there).
type Browser struct {
	*http.Client
	StopAt string
	Landed *url.URL
}

// NewBrowser returns a Browser that stops at URLs under stopAt.
func NewBrowser(stopAt string) *Browser {
	jar, _ := cookiejar.New(nil)
	b := &Browser{StopAt: stopAt}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), b.StopAt) {
			b.Landed = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// SignInAtDex opens startURL, which must lead to Dex's login form, fills
// it in, and follows the redirects until the browser lands under StopAt.
func (b *Browser) SignInAtDex(t testing.TB, d Dex, startURL string) *url.URL {
	t.Helper()
	res, err := b.Get(startURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.String(), d.Issuer) {
		t.Fatalf("%s did not lead to Dex's login page: %s at %s", startURL, res.Status, res.Request.URL)
	}
	res, err = b.PostForm(res.Request.URL.String(), url.Values{"login": {d.Email}, "password": {d.Password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if b.Landed == nil {
		t.Fatalf("after Dex's login form the browser stopped at %s (%s), not under %s", res.Request.URL, res.Status, b.StopAt)
	}
	return b.Landed
}
