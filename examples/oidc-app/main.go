// Command oidc-app is a small web app whose users sign in with Latch (or
// any OpenID Provider) through coreos/go-oidc and golang.org/x/oauth2:
// the authorization code flow with PKCE (S256), state and nonce, the ID
// token verified with the client id as audience, userinfo, refresh,
// revocation and RP-initiated logout. README.md, "Sign in to your app
// with Latch", shows how to register and run it.
//
// Secrets come from the environment only (a flag shows in ps):
// OIDC_CLIENT_SECRET (unset for a public app) and APP_COOKIE_KEY (32
// bytes, base64; unset: a random key, so a restart signs everyone out).
// The app keeps no state: a session lives in the browser, in a cookie
// sealed with AES-GCM.
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// App is the relying party: what discovery told it, and its cookie seal.
type App struct {
	oauth     oauth2.Config
	provider  *oidc.Provider
	verifier  *oidc.IDTokenVerifier
	client    *http.Client // every call to the provider, with a timeout
	aead      cipher.AEAD
	issuer    string
	logoutURL string
	secure    bool // cookies only over https
	meta      struct {
		Revocation string `json:"revocation_endpoint"`
		EndSession string `json:"end_session_endpoint"`
		IssParam   bool   `json:"authorization_response_iss_parameter_supported"`
	}
}

// loginState is what /login keeps for /callback; Session is a signed-in
// user. Both live in sealed cookies.
type loginState struct{ State, Nonce, Verifier string }

type Session struct {
	Email, Subject, IDToken, RefreshToken string
	RefreshedAt                           time.Time
}

const loginCookie, sessionCookie = "oidc_app_login", "oidc_app_session"

func main() {
	env := func(name, fallback string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return fallback
	}
	issuer := flag.String("issuer", env("OIDC_ISSUER", ""), "the provider's issuer URL (OIDC_ISSUER)")
	clientID := flag.String("client-id", env("OIDC_CLIENT_ID", ""), "the app's client_id (OIDC_CLIENT_ID)")
	redirectURL := flag.String("redirect-url", env("OIDC_REDIRECT_URL", "http://127.0.0.1:9000/callback"), "this app's callback, as registered (OIDC_REDIRECT_URL)")
	logoutURL := flag.String("post-logout-redirect-url", env("OIDC_POST_LOGOUT_REDIRECT_URL", ""), "where to return after sign-out, as registered (OIDC_POST_LOGOUT_REDIRECT_URL; default: this app's /)")
	addr := flag.String("addr", env("APP_ADDR", "127.0.0.1:9000"), "the address to listen on (APP_ADDR)")
	flag.Parse()
	if err := run(*issuer, *clientID, *redirectURL, *logoutURL, *addr); err != nil {
		slog.Error("oidc-app", "err", err)
		os.Exit(1)
	}
}

func run(issuer, clientID, redirectURL, logoutURL, addr string) error {
	cb, err := url.Parse(redirectURL)
	if issuer == "" || clientID == "" || err != nil || cb.Host == "" {
		return errors.New("-issuer, -client-id and an absolute -redirect-url are required")
	}
	if logoutURL == "" {
		logoutURL = cb.Scheme + "://" + cb.Host + "/"
	}
	key, err := base64.StdEncoding.DecodeString(os.Getenv("APP_COOKIE_KEY"))
	if len(key) == 0 && err == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand)
	}
	if err != nil || len(key) != 32 {
		return errors.New("APP_COOKIE_KEY must be 32 bytes, base64")
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	a := &App{client: &http.Client{Timeout: 10 * time.Second}, aead: aead, issuer: issuer, logoutURL: logoutURL, secure: cb.Scheme == "https"}

	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), a.client), 30*time.Second)
	defer cancel()
	// Discovery: the provider must name itself issuer, byte for byte.
	if a.provider, err = oidc.NewProvider(ctx, issuer); err != nil {
		return fmt.Errorf("discovery at %s: %w", issuer, err)
	}
	if err := a.provider.Claims(&a.meta); err != nil {
		return err
	}
	a.verifier = a.provider.Verifier(&oidc.Config{ClientID: clientID})
	a.oauth = oauth2.Config{ClientID: clientID, ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		Endpoint: a.provider.Endpoint(), RedirectURL: redirectURL,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess}}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET "+cb.EscapedPath(), a.callback)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("POST /logout", a.logout)
	srv := &http.Server{Addr: addr, Handler: headers(mux), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	stop, done := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer done()
	go func() {
		<-stop.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	slog.Info("oidc-app listening", "addr", addr, "issuer", issuer)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// login starts the code flow with a fresh state, nonce and PKCE verifier,
// kept for ten minutes in a sealed cookie.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	ls := loginState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	if err := a.seal(w, loginCookie, ls, 10*time.Minute); err != nil {
		a.fail(w, http.StatusInternalServerError, "could not start the sign-in", err)
		return
	}
	http.Redirect(w, r, a.oauth.AuthCodeURL(ls.State, oidc.Nonce(ls.Nonce), oauth2.S256ChallengeOption(ls.Verifier)), http.StatusFound)
}

// callback checks the response's state and issuer (RFC 9207), exchanges
// the code with the verifier and signs the user in.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	var ls loginState
	ok := a.open(r, loginCookie, &ls)
	a.clear(w, loginCookie)
	q := r.URL.Query()
	switch iss := q.Get("iss"); {
	case !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(ls.State)) != 1:
		a.fail(w, http.StatusBadRequest, "this sign-in was not started here, or took too long: sign in again", nil)
	case iss != a.issuer && (iss != "" || a.meta.IssParam):
		a.fail(w, http.StatusBadRequest, "the answer came from another issuer", nil)
	case q.Get("error") != "":
		a.fail(w, http.StatusUnauthorized, "not signed in: "+q.Get("error")+" "+q.Get("error_description"), nil)
	default:
		ctx := oidc.ClientContext(r.Context(), a.client)
		tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(ls.Verifier))
		if err != nil {
			a.fail(w, http.StatusBadGateway, "the code exchange failed", err)
			return
		}
		a.signIn(w, r, tok, Session{}, ls.Nonce)
	}
}

// signIn verifies tok's ID token (signature, iss, aud = the client id,
// expiry; the nonce of the sign-in, or on a refresh the same subject,
// Core 12.2), asks userinfo for the email, and keeps the session.
func (a *App) signIn(w http.ResponseWriter, r *http.Request, tok *oauth2.Token, s Session, nonce string) {
	ctx := oidc.ClientContext(r.Context(), a.client)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil || (s.Subject == "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1) ||
		(s.Subject != "" && idt.Subject != s.Subject) {
		a.fail(w, http.StatusBadGateway, "the ID token is not valid", err)
		return
	}
	info, err := a.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != idt.Subject { // Core 5.3.4
		a.fail(w, http.StatusBadGateway, "userinfo failed", err)
		return
	}
	s.Email, s.Subject, s.IDToken, s.RefreshToken = info.Email, idt.Subject, raw, tok.RefreshToken
	if err := a.seal(w, sessionCookie, s, 24*time.Hour); err != nil {
		a.fail(w, http.StatusInternalServerError, "could not keep the session", err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refresh trades the refresh token for new tokens (a token source
// refreshes a token that has no access token).
func (a *App) refresh(w http.ResponseWriter, r *http.Request) {
	var s Session
	if !a.open(r, sessionCookie, &s) || s.RefreshToken == "" {
		a.fail(w, http.StatusUnauthorized, "not signed in, or no refresh token", nil)
		return
	}
	tok, err := a.oauth.TokenSource(oidc.ClientContext(r.Context(), a.client), &oauth2.Token{RefreshToken: s.RefreshToken}).Token()
	if err != nil {
		a.clear(w, sessionCookie)
		a.fail(w, http.StatusUnauthorized, "the session has ended: sign in again", err)
		return
	}
	s.RefreshedAt = time.Now()
	a.signIn(w, r, tok, s, "")
}

// logout forgets the session, revokes its refresh token (RFC 7009: the
// grant ends), and sends the browser to the provider to sign out there.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	var s Session
	if !a.open(r, sessionCookie, &s) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.clear(w, sessionCookie)
	if err := a.revoke(r.Context(), s.RefreshToken); err != nil {
		slog.Warn("revocation failed; the provider's sign-out ends the grant too", "err", err)
	} else {
		slog.Info("signed out; refresh token revoked", "sub", s.Subject)
	}
	end := "/"
	if a.meta.EndSession != "" {
		end = a.meta.EndSession + "?" + url.Values{"id_token_hint": {s.IDToken}, "client_id": {a.oauth.ClientID}, "post_logout_redirect_uri": {a.logoutURL}}.Encode()
	}
	http.Redirect(w, r, end, http.StatusSeeOther)
}

func (a *App) revoke(ctx context.Context, token string) error {
	if a.meta.Revocation == "" || token == "" {
		return errors.New("no revocation endpoint or no refresh token")
	}
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	if a.oauth.ClientSecret == "" {
		form.Set("client_id", a.oauth.ClientID) // a public app
	}
	req, err := http.NewRequestWithContext(ctx, "POST", a.meta.Revocation, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a.oauth.ClientSecret != "" { // RFC 6749 2.3.1: each form-encoded first
		req.SetBasicAuth(url.QueryEscape(a.oauth.ClientID), url.QueryEscape(a.oauth.ClientSecret))
	}
	res, err := a.client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered %s", res.Status)
	}
	return nil
}

var page = template.Must(template.New("").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Example app</title>
<h1>Example app</h1>
{{with .Error}}<p id="app-error" role="alert">{{.}}</p>{{end}}
{{with .Session}}<p>Signed in as <b id="app-email">{{.Email}}</b>, subject <code id="app-sub">{{.Subject}}</code>.</p>
{{if not .RefreshedAt.IsZero}}<p id="app-refreshed">Tokens refreshed at {{.RefreshedAt.Format "15:04:05"}}.</p>{{end}}
<form method="post" action="/refresh"><button id="app-refresh">Refresh tokens</button></form>
<form method="post" action="/logout"><button id="app-sign-out">Sign out</button></form>
{{else}}<p><a id="app-login" href="/login">Sign in</a></p>{{end}}`))

type view struct {
	Session *Session
	Error   string
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	var s Session
	if !a.open(r, sessionCookie, &s) {
		_ = page.Execute(w, view{})
		return
	}
	_ = page.Execute(w, view{Session: &s})
}

// fail shows msg; err, for the log, never holds a token.
func (a *App) fail(w http.ResponseWriter, status int, msg string, err error) {
	if err != nil {
		slog.Warn(msg, "err", err)
	}
	w.WriteHeader(status)
	_ = page.Execute(w, view{Error: msg})
}

// seal keeps v in a cookie sealed with AES-GCM; the cookie's name is
// sealed too, so that one cookie cannot stand in for another.
func (a *App) seal(w http.ResponseWriter, name string, v any, ttl time.Duration) error {
	plain, _ := json.Marshal(struct {
		V   any
		Exp time.Time
	}{v, time.Now().Add(ttl)})
	nonce := make([]byte, a.aead.NonceSize())
	_, _ = rand.Read(nonce)
	value := base64.RawURLEncoding.EncodeToString(a.aead.Seal(nonce, nonce, plain, []byte(name)))
	if len(value) > 4000 {
		return errors.New("the sealed cookie is too large for a browser")
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(ttl.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// open reads a sealed cookie into v: false when missing, forged or expired.
func (a *App) open(r *http.Request, name string, v any) bool {
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	sealed, _ := base64.RawURLEncoding.DecodeString(c.Value)
	if len(sealed) < a.aead.NonceSize() {
		return false
	}
	plain, err := a.aead.Open(nil, sealed[:a.aead.NonceSize()], sealed[a.aead.NonceSize():], []byte(name))
	var box struct {
		V   json.RawMessage
		Exp time.Time
	}
	return err == nil && json.Unmarshal(plain, &box) == nil && time.Now().Before(box.Exp) && json.Unmarshal(box.V, v) == nil
}

func (a *App) clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// headers: no scripts, no framing, no referrer (a callback URL holds a code).
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		next.ServeHTTP(w, r)
	})
}
