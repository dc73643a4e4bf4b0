package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// The use cases of apps: OAuth clients of end users (issue 15), managed by
// a tenant's administrators, and the consents users give them.

// appSecretPrefix marks app secrets for secret scanners, apart from API
// clients' lcs_.
const appSecretPrefix = "las_"

// The limits of an app's registration (documented in the design note of
// issue 15, section 3.4). URIs are compared as exact strings, so every one
// must be a complete, unambiguous address.
const (
	maxAppName        = 200
	maxRedirectURIs   = 20
	maxPostLogoutURIs = 20
	maxRedirectURILen = 2048
	appIDRandomBytes  = 16 // 128 bits: a client_id nobody guesses
)

// clientAuthFailuresKey prefixes the per-address count of failed client
// authentications, which API clients and apps share: a scanner gets one
// budget whichever endpoint it tries.
const clientAuthFailuresKey = "client-auth-failures:"

// AppInput describes a new app.
type AppInput struct {
	Name                   string
	Type                   latch.AppType
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	FirstParty             bool
	ClientCredentials      bool
	// PKCEOptional is the one exception to PKCE for every app
	// (latch.App.PKCEOptional): confidential apps only, for a relying party
	// that cannot send PKCE.
	PKCEOptional bool
}

// AppChange changes some of an app's settings; nil leaves one as is. The
// type does not change: a public app made confidential would need a
// secret, one made public would keep a secret it no longer uses (and
// could not keep ClientCredentials or PKCEOptional: checkApp refuses
// both for a public app, whatever changed).
type AppChange struct {
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	Scopes                 *[]string
	FirstParty             *bool
	ClientCredentials      *bool
	PKCEOptional           *bool
}

// NewApp is an app with its secret, which is shown once and never stored
// ("" for a public app, which has none).
type NewApp struct {
	App    latch.App
	Secret string
}

// CreateApp registers an app in the admin's tenant. A confidential app
// gets a secret, returned this once.
func (s *Service) CreateApp(ctx context.Context, a Admin, in AppInput) (NewApp, error) {
	if err := a.Authorize(OpCreateApp); err != nil {
		return NewApp{}, err
	}
	app := latch.App{
		TenantID: a.tenant(), Name: strings.TrimSpace(in.Name), Type: in.Type, FirstParty: in.FirstParty,
		RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		Scopes: in.Scopes, ClientCredentials: in.ClientCredentials, PKCEOptional: in.PKCEOptional,
	}
	app, err := checkApp(app)
	if err != nil {
		return NewApp{}, err
	}
	idBytes := make([]byte, appIDRandomBytes)
	_, _ = rand.Read(idBytes) // never fails (crypto/rand)
	// Hex, as API clients' ids: base64url could begin with "-", which a
	// command line reads as a flag (latch apps show --id -x...).
	app.ID = hex.EncodeToString(idBytes)
	var secret string
	if app.Type == latch.AppConfidential {
		secret, app.SecretHash = token.NewOpaque(appSecretPrefix)
	}
	app.CreatedAt = s.now()
	app.UpdatedAt = app.CreatedAt
	ev := s.auditEvent(ctx, a, latch.AuditAppCreate, app.TenantID, app.ID)
	ev.Details = map[string]string{"name": app.Name, "type": string(app.Type)}
	if app.PKCEOptional {
		// The exception is what an auditor looks for: named on its own.
		ev.Details["pkce_optional"] = "true"
	}
	if err := s.store.CreateApp(ctx, app, &ev); err != nil {
		return NewApp{}, err
	}
	return NewApp{App: app, Secret: secret}, nil
}

// checkApp applies the registration rules to a's settings, returning them
// normalised (scopes once each, in AppScopes' order). Every field that
// fails is reported (latch.Error.Details, one per field), the first as the
// headline, so a form or a script can fix them all at once.
func checkApp(a latch.App) (latch.App, error) {
	var failed []latch.Error
	fail := func(field, code, message string) {
		failed = append(failed, *latch.FieldError(field, code, message))
	}
	if a.Type != latch.AppPublic && a.Type != latch.AppConfidential {
		fail("type", latch.CodeInvalidRequest, "type must be public or confidential")
	}
	if a.Name == "" || utf8.RuneCountInString(a.Name) > maxAppName || !utf8.ValidString(a.Name) || strings.ContainsRune(a.Name, 0) {
		fail("name", latch.CodeRequired, fmt.Sprintf("an app needs a name of 1 to %d characters", maxAppName))
	}
	switch {
	case len(a.RedirectURIs) == 0:
		fail("redirect_uris", latch.CodeRequired, "an app needs at least one redirect URI")
	case len(a.RedirectURIs) > maxRedirectURIs:
		fail("redirect_uris", latch.CodeInvalidRequest, fmt.Sprintf("at most %d redirect URIs", maxRedirectURIs))
	default:
		if err := checkAppURIs("redirect_uris", a.RedirectURIs); err != nil {
			failed = append(failed, *err)
		}
	}
	if len(a.PostLogoutRedirectURIs) > maxPostLogoutURIs {
		fail("post_logout_redirect_uris", latch.CodeInvalidRequest, fmt.Sprintf("at most %d post-logout redirect URIs", maxPostLogoutURIs))
	} else if err := checkAppURIs("post_logout_redirect_uris", a.PostLogoutRedirectURIs); err != nil {
		failed = append(failed, *err)
	}
	var scopes []string
	for _, sc := range latch.AppScopes() {
		if slices.Contains(a.Scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if i := slices.IndexFunc(a.Scopes, func(sc string) bool { return !slices.Contains(latch.AppScopes(), sc) }); i >= 0 {
		fail("scopes", latch.CodeInvalidRequest, fmt.Sprintf("unknown scope %q; an app may have: %s", truncate(a.Scopes[i], 100), strings.Join(latch.AppScopes(), ", ")))
	} else if !slices.Contains(scopes, latch.AppScopeOpenID) {
		fail("scopes", latch.CodeInvalidRequest, "an app's scopes must include openid")
	}
	if a.ClientCredentials && a.Type == latch.AppPublic {
		fail("client_credentials", latch.CodeInvalidRequest, "only a confidential app may use the client_credentials grant")
	}
	if a.PKCEOptional && a.Type != latch.AppConfidential {
		// A public app has no secret: PKCE is all that binds its code to
		// the one who asked for it.
		fail("pkce_optional", latch.CodeInvalidRequest, "only a confidential app may leave out PKCE; a public app proves itself by PKCE alone")
	}
	if len(failed) > 0 {
		return a, invalid(failed)
	}
	a.Scopes = scopes
	return a, nil
}

// checkAppURIs applies AppRedirectURI to each of uris and refuses
// duplicates; the first failure is the error, on field.
func checkAppURIs(field string, uris []string) *latch.Error {
	for i, raw := range uris {
		if err := AppRedirectURI(raw); err != nil {
			return latch.FieldError(field, latch.CodeInvalidRequest, fmt.Sprintf("%q: %v", truncate(raw, 100), err))
		}
		if slices.Contains(uris[:i], raw) {
			return latch.FieldError(field, latch.CodeInvalidRequest, fmt.Sprintf("%q is listed twice", truncate(raw, 100)))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// AppRedirectURI says why raw cannot be registered as a redirect (or
// post-logout redirect) URI, or nil. Redirects are compared as exact
// strings (RFC 6749 section 3.1.2.3), so a URI must be one unambiguous
// address: absolute, https, or http on a loopback host (RFC 8252 section
// 7.3: a native app's local listener), no user info, no fragment (RFC 6749
// section 3.1.2), no wildcard, printable ASCII only (an IRI is registered
// in its percent-encoded form), and written the one way Go writes it back.
func AppRedirectURI(raw string) error {
	if raw == "" {
		return fmt.Errorf("empty")
	}
	if len(raw) > maxRedirectURILen {
		return fmt.Errorf("longer than %d characters", maxRedirectURILen)
	}
	for _, r := range raw {
		if r <= ' ' || r >= 0x7f {
			return fmt.Errorf("only printable ASCII without spaces (percent-encode the rest)")
		}
	}
	if strings.Contains(raw, "*") {
		return fmt.Errorf("wildcards are not allowed; register each URI")
	}
	if strings.Contains(raw, "#") {
		return fmt.Errorf("a fragment is not allowed")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	if u.User != nil {
		return fmt.Errorf("user info is not allowed")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return fmt.Errorf("http only on a loopback host (127.0.0.1, [::1], localhost); use https")
		}
	default:
		return fmt.Errorf("the scheme must be https (or http on a loopback host)")
	}
	if u.String() != raw {
		return fmt.Errorf("not in canonical form (write it as %q)", truncate(u.String(), 100))
	}
	return nil
}

// loopbackHost reports whether host is one RFC 8252 lets a native app
// listen on over plain http.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	// Exactly these addresses: not the rest of 127/8, not an IPv4-mapped
	// or zoned spelling, which another parser could read otherwise.
	addr, err := netip.ParseAddr(host)
	return err == nil && (addr == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || addr == netip.IPv6Loopback())
}

// Apps lists the apps of the admin's tenant (the operator's without a
// tenant: the default one) in id order, after the cursor
// after ("" from the start), at most limit (0: the store's default).
func (s *Service) Apps(ctx context.Context, a Admin, after string, limit int) ([]latch.App, error) {
	if err := a.Authorize(OpListApps); err != nil {
		return nil, err
	}
	return s.store.AppsByTenant(ctx, latch.AppQuery{TenantID: a.tenant(), AfterID: after, Limit: limit})
}

// App returns one app of the admin's tenant; another tenant's is NotFound,
// as if it did not exist.
func (s *Service) App(ctx context.Context, a Admin, id string) (latch.App, error) {
	if err := a.Authorize(OpGetApp); err != nil {
		return latch.App{}, err
	}
	return s.tenantApp(ctx, a, id)
}

func (s *Service) tenantApp(ctx context.Context, a Admin, id string) (latch.App, error) {
	app, err := s.store.AppByID(ctx, id)
	if err != nil {
		return latch.App{}, err
	}
	// The operator without --tenant acts in every tenant.
	if a.TenantID != "" && app.TenantID != a.TenantID {
		return latch.App{}, latch.Errorf(latch.KindNotFound, latch.CodeNotFound, "no such app")
	}
	return app, nil
}

func errAppRevoked() error {
	return latch.Errorf(latch.KindConflict, latch.CodeInvalidRequest, "the app is revoked; register a new one")
}

// UpdateApp changes an app's settings, under CreateApp's rules.
func (s *Service) UpdateApp(ctx context.Context, a Admin, id string, ch AppChange) (latch.App, error) {
	if err := a.Authorize(OpUpdateApp); err != nil {
		return latch.App{}, err
	}
	app, err := s.tenantApp(ctx, a, id)
	if err != nil {
		return latch.App{}, err
	}
	if !app.Usable() {
		return latch.App{}, errAppRevoked()
	}
	// The rules are checked on the app as it would be; the store applies
	// the same change to the row as it is then, and checks the type rules
	// again.
	next := app
	if ch.Name != nil {
		next.Name = strings.TrimSpace(*ch.Name)
	}
	if ch.RedirectURIs != nil {
		next.RedirectURIs = *ch.RedirectURIs
	}
	if ch.PostLogoutRedirectURIs != nil {
		next.PostLogoutRedirectURIs = *ch.PostLogoutRedirectURIs
	}
	if ch.Scopes != nil {
		next.Scopes = *ch.Scopes
	}
	if ch.FirstParty != nil {
		next.FirstParty = *ch.FirstParty
	}
	if ch.ClientCredentials != nil {
		next.ClientCredentials = *ch.ClientCredentials
	}
	if ch.PKCEOptional != nil {
		next.PKCEOptional = *ch.PKCEOptional
	}
	if next, err = checkApp(next); err != nil {
		return latch.App{}, err
	}
	up := latch.AppUpdate{ID: app.ID, FirstParty: ch.FirstParty, ClientCredentials: ch.ClientCredentials, PKCEOptional: ch.PKCEOptional, At: s.now()}
	changed := []string{}
	if ch.Name != nil {
		up.Name, changed = &next.Name, append(changed, "name")
	}
	if ch.RedirectURIs != nil {
		up.RedirectURIs, changed = &next.RedirectURIs, append(changed, "redirect_uris")
	}
	if ch.PostLogoutRedirectURIs != nil {
		up.PostLogoutRedirectURIs, changed = &next.PostLogoutRedirectURIs, append(changed, "post_logout_redirect_uris")
	}
	if ch.Scopes != nil {
		up.Scopes, changed = &next.Scopes, append(changed, "scopes")
	}
	if ch.FirstParty != nil {
		changed = append(changed, "first_party")
	}
	if ch.ClientCredentials != nil {
		changed = append(changed, "client_credentials")
	}
	if ch.PKCEOptional != nil {
		changed = append(changed, "pkce_optional")
	}
	ev := s.auditEvent(ctx, a, latch.AuditAppUpdate, app.TenantID, app.ID)
	ev.Details = map[string]string{"fields": strings.Join(changed, ",")}
	if ch.PKCEOptional != nil {
		// Set or cleared, the exception is named with its new value: the
		// value asked for is what the store writes, whatever it was.
		ev.Details["pkce_optional"] = strconv.FormatBool(*ch.PKCEOptional)
	}
	up.Audit = &ev
	return s.store.UpdateApp(ctx, up)
}

// RotateAppSecret gives a confidential app a new secret, returned this
// once; the old one stops working at once. A public app has none.
func (s *Service) RotateAppSecret(ctx context.Context, a Admin, id string) (NewApp, error) {
	if err := a.Authorize(OpRotateAppSecret); err != nil {
		return NewApp{}, err
	}
	app, err := s.tenantApp(ctx, a, id)
	if err != nil {
		return NewApp{}, err
	}
	if !app.Usable() {
		return NewApp{}, errAppRevoked()
	}
	if app.Type != latch.AppConfidential {
		return NewApp{}, latch.FieldError("type", latch.CodeInvalidRequest, "a public app has no secret to rotate")
	}
	secret, hash := token.NewOpaque(appSecretPrefix)
	ev := s.auditEvent(ctx, a, latch.AuditAppSecretRotate, app.TenantID, app.ID)
	if err := s.store.RotateAppSecret(ctx, app.ID, hash, s.now(), &ev); err != nil {
		return NewApp{}, err
	}
	app.SecretHash = hash
	return NewApp{App: app, Secret: secret}, nil
}

// RevokeApp revokes an app: it can no longer sign anyone in or
// authenticate, and every grant of it ends in the same write (its access
// tokens are refused by userinfo and introspection at once, its refresh
// tokens at their next use). It is kept (audit events and consents name
// it). The audit event records how many grants ended (grants_revoked).
func (s *Service) RevokeApp(ctx context.Context, a Admin, id string) error {
	if err := a.Authorize(OpRevokeApp); err != nil {
		return err
	}
	app, err := s.tenantApp(ctx, a, id)
	if err != nil {
		return err
	}
	ev := s.auditEvent(ctx, a, latch.AuditAppRevoke, app.TenantID, app.ID)
	return s.store.RevokeApp(ctx, app.ID, s.now(), &ev)
}

// secretMatches compares the hash of a presented secret with a stored one
// in constant time. A missing or malformed stored hash (an unknown id, a
// public app) is compared against zeros, so that it costs what a wrong
// secret does and answers the same.
func secretMatches(presented, stored []byte) bool {
	if len(stored) != sha256.Size {
		stored = make([]byte, sha256.Size)
		subtle.ConstantTimeCompare(presented, stored)
		return false
	}
	return subtle.ConstantTimeCompare(presented, stored) == 1
}

// AuthenticateApp checks a confidential app's credentials at the token
// endpoint (client_secret_basic or client_secret_post). An unknown app, a
// wrong secret, a revoked app and a public app (which has no secret) give
// the same answer, invalid_client. Failures count against the client
// address's LoginFailures, shared with API clients' IssueClientToken: a
// secret has 256 bits and cannot be guessed, but a scanner should not
// cost a store read per attempt without end.
func (s *Service) AuthenticateApp(ctx context.Context, clientID, secret, clientIP string) (latch.App, error) {
	failures := clientAuthFailuresKey + s.addressKey(clientIP)
	if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
		return latch.App{}, err
	}
	presented := token.HashOpaque(secret)
	app, err := s.store.AppByID(ctx, clientID)
	if err != nil && !latch.IsKind(err, latch.KindNotFound) {
		return latch.App{}, err
	}
	match := secretMatches(presented, app.SecretHash)
	if err != nil || !match || !app.Usable() || app.Type != latch.AppConfidential || !token.LooksOpaque(secret, appSecretPrefix) {
		if lerr := s.limit(ctx, failures, s.cfg.LoginFailures, 1); lerr != nil && !latch.IsKind(lerr, latch.KindTooMany) {
			return latch.App{}, lerr
		}
		return latch.App{}, errInvalidClient()
	}
	return app, nil
}

// GrantConsent records that the user lets the app have scopes (added to
// what they granted before). The app must be usable, of the user's
// tenant, and registered for every scope.
func (s *Service) GrantConsent(ctx context.Context, userID, appID string, scopes []string) (latch.AppConsent, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return latch.AppConsent{}, err
	}
	if !u.Active {
		return latch.AppConsent{}, latch.Errorf(latch.KindForbidden, latch.CodeAccountInactive, "the account is deactivated")
	}
	app, err := s.store.AppByID(ctx, appID)
	if err != nil {
		return latch.AppConsent{}, err
	}
	if !app.Usable() || app.TenantID != u.TenantID {
		// Another tenant's app does not exist for this user.
		return latch.AppConsent{}, latch.Errorf(latch.KindNotFound, latch.CodeNotFound, "no such app")
	}
	if len(scopes) == 0 {
		return latch.AppConsent{}, latch.FieldError("scopes", latch.CodeRequired, "a consent names the scopes it grants")
	}
	for _, sc := range scopes {
		if !slices.Contains(app.Scopes, sc) {
			return latch.AppConsent{}, latch.FieldError("scopes", latch.CodeInvalidRequest, fmt.Sprintf("the app is not registered for scope %q", sc))
		}
	}
	ev := s.userEvent(ctx, u, latch.AuditConsentGrant)
	ev.Details = map[string]string{"app_id": app.ID, "scopes": strings.Join(scopes, " ")}
	return s.store.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: app.ID, Scopes: scopes, GrantedAt: s.now()}, &ev)
}

// MyApp is an app the user gave access to, as the account page lists it.
type MyApp struct {
	AppID      string
	Name       string
	Consent    latch.AppConsent
	FirstParty bool
}

// MyApps lists the apps the user gave access to, the latest grant first.
// A revoked app has no access left and is not listed.
func (s *Service) MyApps(ctx context.Context, userID string) ([]MyApp, error) {
	consents, err := s.store.ConsentsByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []MyApp
	for _, c := range consents {
		app, err := s.store.AppByID(ctx, c.AppID)
		if err != nil {
			return nil, err
		}
		if !app.Usable() {
			continue
		}
		out = append(out, MyApp{AppID: app.ID, Name: app.Name, Consent: c, FirstParty: app.FirstParty})
	}
	return out, nil
}

// RevokeConsent withdraws the user's consent to the app; the next sign-in
// to it asks again. The user's grants at the app end with it, in the same
// write, and so do codes issued under it and not yet redeemed; the audit
// event records how many grants ended (grants_revoked).
func (s *Service) RevokeConsent(ctx context.Context, userID, appID string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	ev := s.userEvent(ctx, u, latch.AuditConsentRevoke)
	ev.Details = map[string]string{"app_id": appID}
	return s.store.RevokeConsent(ctx, u.ID, appID, &ev)
}
