package account_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/token"
)

// goodApp is a valid registration; the validation table changes one thing
// at a time.
func goodApp() account.AppInput {
	return account.AppInput{
		Name: "Shop", Type: latch.AppConfidential,
		RedirectURIs: []string{"https://shop.example/callback"},
		Scopes:       []string{latch.AppScopeOpenID, latch.AppScopeEmail},
	}
}

func TestAppRedirectURI(t *testing.T) {
	ok := []string{
		"https://shop.example/callback",
		"https://shop.example:8443/cb?x=1",
		"https://shop.example/%C3%BC",
		"http://127.0.0.1:8080/cb",
		"http://[::1]:8080/cb",
		"http://localhost/cb",
	}
	for _, raw := range ok {
		if err := account.AppRedirectURI(raw); err != nil {
			t.Errorf("AppRedirectURI(%q) = %v, want accepted", raw, err)
		}
	}
	refused := []string{
		"",
		"/callback",                                         // relative
		"shop.example/callback",                             // no scheme
		"http://shop.example/callback",                      // http off loopback
		"http://127.0.0.2/cb",                               // not the loopback RFC 8252 names
		"http://localhost.shop.example/cb",                  // a name that only starts like localhost
		"https://shop.example/cb#frag",                      // fragment
		"https://shop.example/cb#",                          // empty fragment
		"https://*.shop.example/cb",                         // wildcard
		"https://shop.example/*",                            // wildcard
		"https://user:pw@shop.example/cb",                   // user info
		"https://shop.example/a b",                          // space
		"https://shop.example/ü",                            // not ASCII
		"https://shop.example/\x00",                         // control
		"javascript:alert(1)",                               // not https
		"com.example.app:/callback",                         // custom scheme (not in this slice)
		"HTTPS://shop.example/cb",                           // not canonical: Go writes the scheme in lower case
		"https:///cb",                                       // no host
		"https://shop.example/" + strings.Repeat("a", 2048), // too long
	}
	for _, raw := range refused {
		if err := account.AppRedirectURI(raw); err == nil {
			t.Errorf("AppRedirectURI(%q) accepted", raw)
		}
	}
}

func TestCreateAppValidation(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	uris := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, "https://shop.example/cb"+strings.Repeat("x", i))
		}
		return out
	}
	cases := []struct {
		name   string
		change func(in *account.AppInput)
		field  string
		code   string
	}{
		{"no name", func(in *account.AppInput) { in.Name = "  " }, "name", latch.CodeRequired},
		{"name too long", func(in *account.AppInput) { in.Name = strings.Repeat("é", 201) }, "name", latch.CodeRequired},
		{"unknown type", func(in *account.AppInput) { in.Type = "hybrid" }, "type", latch.CodeInvalidRequest},
		{"no type", func(in *account.AppInput) { in.Type = "" }, "type", latch.CodeInvalidRequest},
		{"no redirect", func(in *account.AppInput) { in.RedirectURIs = nil }, "redirect_uris", latch.CodeRequired},
		{"21 redirects", func(in *account.AppInput) { in.RedirectURIs = uris(21) }, "redirect_uris", latch.CodeInvalidRequest},
		{"bad redirect", func(in *account.AppInput) { in.RedirectURIs = []string{"http://shop.example/cb"} }, "redirect_uris", latch.CodeInvalidRequest},
		{"duplicate redirect", func(in *account.AppInput) {
			in.RedirectURIs = []string{"https://shop.example/cb", "https://shop.example/cb"}
		}, "redirect_uris", latch.CodeInvalidRequest},
		{"21 post-logout", func(in *account.AppInput) { in.PostLogoutRedirectURIs = uris(21) }, "post_logout_redirect_uris", latch.CodeInvalidRequest},
		{"bad post-logout", func(in *account.AppInput) { in.PostLogoutRedirectURIs = []string{"https://shop.example/#x"} }, "post_logout_redirect_uris", latch.CodeInvalidRequest},
		{"no openid", func(in *account.AppInput) { in.Scopes = []string{latch.AppScopeEmail} }, "scopes", latch.CodeInvalidRequest},
		{"no scopes", func(in *account.AppInput) { in.Scopes = nil }, "scopes", latch.CodeInvalidRequest},
		{"unknown scope", func(in *account.AppInput) { in.Scopes = []string{"openid", "admin"} }, "scopes", latch.CodeInvalidRequest},
		{"public with client_credentials", func(in *account.AppInput) { in.Type, in.ClientCredentials = latch.AppPublic, true }, "client_credentials", latch.CodeInvalidRequest},
		{"public with pkce_optional", func(in *account.AppInput) { in.Type, in.PKCEOptional = latch.AppPublic, true }, "pkce_optional", latch.CodeInvalidRequest},
	}
	for _, c := range cases {
		in := goodApp()
		c.change(&in)
		_, err := h.Accounts.CreateApp(ctx, account.Operator(""), in)
		le := latch.AsError(err)
		if le == nil || le.Kind != latch.KindInvalid || le.Field != c.field || le.Code != c.code {
			t.Errorf("%s: CreateApp = %v (field %q), want Invalid %s on %s", c.name, err, fieldOf(le), c.code, c.field)
		}
	}
	// Every field at fault is reported at once, one detail each.
	_, err := h.Accounts.CreateApp(ctx, account.Operator(""), account.AppInput{Type: latch.AppPublic, Scopes: []string{"email"},
		PostLogoutRedirectURIs: []string{"https://x.example/*"}, ClientCredentials: true, PKCEOptional: true})
	var fields []string
	for _, d := range latch.AsError(err).Details {
		fields = append(fields, d.Field)
	}
	if want := []string{"name", "redirect_uris", "post_logout_redirect_uris", "scopes", "client_credentials", "pkce_optional"}; !slices.Equal(fields, want) {
		t.Errorf("details of a registration wrong everywhere: %v, want %v", fields, want)
	}
	apps, err := h.Accounts.Apps(ctx, account.Operator(""), "", 0)
	if err != nil || len(apps) != 0 {
		t.Fatalf("refused registrations were stored: %v, %v", apps, err)
	}

	// The limits themselves are allowed: 20 URIs of each kind, a name of
	// 200 characters. Scopes are kept once each, in a fixed order.
	in := goodApp()
	in.Name, in.RedirectURIs, in.PostLogoutRedirectURIs = strings.Repeat("é", 200), uris(20), uris(20)
	in.Scopes = []string{"email", "openid", "email", "offline_access", "profile"}
	in.ClientCredentials = true
	na, err := h.Accounts.CreateApp(ctx, account.Operator(""), in)
	if err != nil {
		t.Fatalf("CreateApp at the limits: %v", err)
	}
	if want := latch.AppScopes(); !slices.Equal(na.App.Scopes, want) {
		t.Errorf("scopes = %v, want %v", na.App.Scopes, want)
	}
}

func fieldOf(le *latch.Error) string {
	if le == nil {
		return ""
	}
	return le.Field
}

// TestCreateAppSecret: a confidential app's secret is shown once, has the
// las_ prefix and 256 bits, and only its SHA-256 is stored; a public app
// has none. The audit event holds neither.
func TestCreateAppSecret(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		na, err := h.Accounts.CreateApp(ctx, account.Operator(""), goodApp())
		if err != nil {
			t.Fatal(err)
		}
		if !token.LooksOpaque(na.Secret, "las_") {
			t.Errorf("secret %q is not las_ and 256 bits", na.Secret)
		}
		stored, err := h.Store.AppByID(ctx, na.App.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored.SecretHash, token.HashOpaque(na.Secret)) || bytes.Contains(stored.SecretHash, []byte(na.Secret)) {
			t.Errorf("stored secret hash %x is not SHA-256 of the secret", stored.SecretHash)
		}
		if stored.TenantID != latch.DefaultTenantID || len(na.App.ID) < 22 {
			t.Errorf("app id %q, tenant %s", na.App.ID, stored.TenantID)
		}

		pubIn := goodApp()
		pubIn.Type = latch.AppPublic
		pub, err := h.Accounts.CreateApp(ctx, account.Operator(""), pubIn)
		if err != nil {
			t.Fatal(err)
		}
		if pub.Secret != "" || pub.App.SecretHash != nil {
			t.Errorf("a public app got a secret: %q", pub.Secret)
		}

		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditAppCreate})
		if err != nil || len(evs) != 2 {
			t.Fatalf("app.create events: %v, %v", evs, err)
		}
		for _, e := range evs {
			for k, v := range e.Details {
				if strings.Contains(v, na.Secret) || strings.Contains(v, "las_") {
					t.Errorf("audit detail %s holds the secret", k)
				}
			}
		}
	})
}

// TestAuthenticateApp: the right secret of a live confidential app
// passes; a wrong secret, an unknown app, a revoked app and a public app
// answer the same invalid_client; failures count per address.
func TestAuthenticateApp(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		op := account.Operator("")
		conf, err := h.Accounts.CreateApp(ctx, op, goodApp())
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Accounts.AuthenticateApp(ctx, conf.App.ID, conf.Secret, "192.0.2.1")
		if err != nil || got.ID != conf.App.ID {
			t.Fatalf("AuthenticateApp(right secret) = %+v, %v", got.ID, err)
		}

		pubIn := goodApp()
		pubIn.Type = latch.AppPublic
		pub, err := h.Accounts.CreateApp(ctx, op, pubIn)
		if err != nil {
			t.Fatal(err)
		}
		revoked, err := h.Accounts.CreateApp(ctx, op, goodApp())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Accounts.RevokeApp(ctx, op, revoked.App.ID); err != nil {
			t.Fatal(err)
		}
		wrong, _ := token.NewOpaque("las_")
		for name, creds := range map[string][2]string{
			"wrong secret":          {conf.App.ID, wrong},
			"secret of another app": {conf.App.ID, revoked.Secret},
			"unknown app":           {"no-such-app", conf.Secret},
			"revoked app":           {revoked.App.ID, revoked.Secret},
			"public app, no secret": {pub.App.ID, ""},
			"public app, a secret":  {pub.App.ID, wrong},
			"empty":                 {"", ""},
		} {
			_, err := h.Accounts.AuthenticateApp(ctx, creds[0], creds[1], "192.0.2.2")
			le := latch.AsError(err)
			if le == nil || le.Kind != latch.KindUnauthenticated || le.Code != latch.CodeInvalidClient || le.Message != "client authentication failed" {
				t.Errorf("%s: AuthenticateApp = %v, want the one invalid_client", name, err)
			}
		}
	})
}

func TestAuthenticateAppFailureLimit(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.LoginFailures = ratelimit.Rule{Limit: 3, Per: time.Hour}
	h := testenv.NewHarnessWithConfig(t, testenv.OpenSQLite(t), cfg)
	ctx := context.Background()
	na, err := h.Accounts.CreateApp(ctx, account.Operator(""), goodApp())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := h.Accounts.AuthenticateApp(ctx, na.App.ID, "las_wrong", "198.51.100.7"); !latch.IsCode(err, latch.CodeInvalidClient) {
			t.Fatalf("failure: %v", err)
		}
	}
	// The address has used its failures: even the right secret waits.
	if _, err := h.Accounts.AuthenticateApp(ctx, na.App.ID, na.Secret, "198.51.100.7"); !latch.IsKind(err, latch.KindTooMany) {
		t.Errorf("after 3 failures: %v, want TooMany", err)
	}
	// Another address is not held back.
	if _, err := h.Accounts.AuthenticateApp(ctx, na.App.ID, na.Secret, "198.51.100.8"); err != nil {
		t.Errorf("another address: %v", err)
	}
}

// TestManageApps: update under the creation rules, rotation (the old
// secret stops), revocation, and an admin client sees only its tenant's
// apps.
func TestManageApps(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		op := account.Operator("")
		na, err := h.Accounts.CreateApp(ctx, op, goodApp())
		if err != nil {
			t.Fatal(err)
		}
		id := na.App.ID

		name, redirects := " Shop 2 ", []string{"https://shop.example/a", "http://localhost:3000/cb"}
		cc := true
		up, err := h.Accounts.UpdateApp(ctx, op, id, account.AppChange{Name: &name, RedirectURIs: &redirects, ClientCredentials: &cc})
		if err != nil {
			t.Fatal(err)
		}
		if up.Name != "Shop 2" || !slices.Equal(up.RedirectURIs, redirects) || !up.ClientCredentials || !slices.Equal(up.Scopes, na.App.Scopes) {
			t.Errorf("after UpdateApp: %+v", up)
		}
		bad := []string{"https://shop.example/*"}
		if _, err := h.Accounts.UpdateApp(ctx, op, id, account.AppChange{RedirectURIs: &bad}); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("UpdateApp(wildcard) = %v, want Invalid", err)
		}
		noOpenID := []string{"email"}
		if _, err := h.Accounts.UpdateApp(ctx, op, id, account.AppChange{Scopes: &noOpenID}); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("UpdateApp(no openid) = %v, want Invalid", err)
		}
		if got, _ := h.Accounts.App(ctx, op, id); !slices.Equal(got.RedirectURIs, redirects) {
			t.Errorf("a refused update was written: %v", got.RedirectURIs)
		}

		rotated, err := h.Accounts.RotateAppSecret(ctx, op, id)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Secret == na.Secret || !token.LooksOpaque(rotated.Secret, "las_") {
			t.Errorf("rotated secret %q", rotated.Secret)
		}
		if _, err := h.Accounts.AuthenticateApp(ctx, id, na.Secret, "192.0.2.1"); !latch.IsCode(err, latch.CodeInvalidClient) {
			t.Errorf("the old secret still works: %v", err)
		}
		if _, err := h.Accounts.AuthenticateApp(ctx, id, rotated.Secret, "192.0.2.1"); err != nil {
			t.Errorf("the new secret: %v", err)
		}

		pubIn := goodApp()
		pubIn.Type = latch.AppPublic
		pub, _ := h.Accounts.CreateApp(ctx, op, pubIn)
		if _, err := h.Accounts.RotateAppSecret(ctx, op, pub.App.ID); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("RotateAppSecret(public) = %v, want Invalid", err)
		}
		if _, err := h.Accounts.UpdateApp(ctx, op, pub.App.ID, account.AppChange{ClientCredentials: &cc}); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("UpdateApp(public, client_credentials) = %v, want Invalid", err)
		}

		if err := h.Accounts.RevokeApp(ctx, op, id); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.UpdateApp(ctx, op, id, account.AppChange{Name: &name}); !latch.IsKind(err, latch.KindConflict) {
			t.Errorf("UpdateApp(revoked) = %v, want Conflict", err)
		}
		if _, err := h.Accounts.RotateAppSecret(ctx, op, id); !latch.IsKind(err, latch.KindConflict) {
			t.Errorf("RotateAppSecret(revoked) = %v, want Conflict", err)
		}

		// Tenants: an admin client of another tenant neither sees nor
		// touches the default tenant's apps, and makes apps in its own.
		other, err := h.Accounts.CreateTenant(ctx, op, "other")
		if err != nil {
			t.Fatal(err)
		}
		c := latch.Client{ID: "c-other", TenantID: other.ID, Scope: latch.ScopeManageAll}
		admin := account.Admin{Client: &c, TenantID: other.ID}
		if _, err := h.Accounts.App(ctx, admin, pub.App.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("App(other tenant's) = %v, want NotFound", err)
		}
		if err := h.Accounts.RevokeApp(ctx, admin, pub.App.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("RevokeApp(other tenant's) = %v, want NotFound", err)
		}
		mine, err := h.Accounts.CreateApp(ctx, admin, goodApp())
		if err != nil || mine.App.TenantID != other.ID {
			t.Fatalf("CreateApp by the other tenant's admin: %+v, %v", mine.App, err)
		}
		list, err := h.Accounts.Apps(ctx, admin, "", 0)
		if err != nil || len(list) != 1 || list[0].ID != mine.App.ID {
			t.Errorf("Apps(other tenant) = %v, %v; want only its own", list, err)
		}
		if got, _ := h.Store.AppByID(ctx, pub.App.ID); !got.Usable() {
			t.Error("another tenant's admin revoked the app")
		}
	})
}

// TestAppPKCEOptional: the one PKCE exception is for confidential apps
// only, set and cleared like any setting, and every change to it is named
// in the audit event; a refused one writes nothing.
func TestAppPKCEOptional(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		op := account.Operator("")
		in := goodApp()
		in.PKCEOptional = true
		na, err := h.Accounts.CreateApp(ctx, op, in)
		if err != nil {
			t.Fatal(err)
		}
		id := na.App.ID
		if got, err := h.Store.AppByID(ctx, id); err != nil || !got.PKCEOptional || !na.App.PKCEOptional {
			t.Fatalf("stored app: %+v, %v; want PKCEOptional", got, err)
		}
		plain, err := h.Accounts.CreateApp(ctx, op, goodApp())
		if err != nil || plain.App.PKCEOptional {
			t.Fatalf("an app made without the exception: %+v, %v", plain.App, err)
		}
		createDetails := func(target string) map[string]string {
			t.Helper()
			evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditAppCreate, TargetID: target})
			if err != nil || len(evs) != 1 {
				t.Fatalf("app.create events of %s: %v, %v", target, evs, err)
			}
			return evs[0].Details
		}
		if d := createDetails(id); d["pkce_optional"] != "true" {
			t.Errorf("app.create details %v: the exception is not named", d)
		}
		if d := createDetails(plain.App.ID); d["pkce_optional"] != "" {
			t.Errorf("app.create details of an app without the exception: %v", d)
		}

		// Cleared, then set again: each change is audited with its value.
		off, on := false, true
		up, err := h.Accounts.UpdateApp(ctx, op, id, account.AppChange{PKCEOptional: &off})
		if err != nil || up.PKCEOptional {
			t.Fatalf("clearing: %+v, %v", up, err)
		}
		if got, _ := h.Store.AppByID(ctx, id); got.PKCEOptional {
			t.Error("the cleared exception is still stored")
		}
		if up, err = h.Accounts.UpdateApp(ctx, op, plain.App.ID, account.AppChange{PKCEOptional: &on}); err != nil || !up.PKCEOptional {
			t.Fatalf("setting: %+v, %v", up, err)
		}
		updateDetails := func(target string) []map[string]string {
			t.Helper()
			evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditAppUpdate, TargetID: target})
			if err != nil {
				t.Fatal(err)
			}
			var out []map[string]string
			for _, e := range evs {
				out = append(out, e.Details)
			}
			return out
		}
		if d := updateDetails(id); len(d) != 1 || d[0]["pkce_optional"] != "false" || d[0]["fields"] != "pkce_optional" {
			t.Errorf("app.update details when cleared: %v", d)
		}
		if d := updateDetails(plain.App.ID); len(d) != 1 || d[0]["pkce_optional"] != "true" || d[0]["fields"] != "pkce_optional" {
			t.Errorf("app.update details when set: %v", d)
		}
		// An update that leaves it alone does not name it.
		name := "Shop renamed"
		if _, err := h.Accounts.UpdateApp(ctx, op, plain.App.ID, account.AppChange{Name: &name}); err != nil {
			t.Fatal(err)
		}
		named := 0
		for _, d := range updateDetails(plain.App.ID) {
			if _, ok := d["pkce_optional"]; ok {
				named++
			}
		}
		if n := len(updateDetails(plain.App.ID)); n != 2 || named != 1 {
			t.Errorf("after a rename: %d app.update events, %d naming pkce_optional; want 2 and 1", n, named)
		}

		// A public app: refused on create and on update, nothing written.
		pubIn := goodApp()
		pubIn.Type, pubIn.PKCEOptional = latch.AppPublic, true
		if _, err := h.Accounts.CreateApp(ctx, op, pubIn); latch.AsError(err) == nil || latch.AsError(err).Field != "pkce_optional" || !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("CreateApp(public, pkce_optional) = %v, want Invalid on pkce_optional", err)
		}
		pubIn.PKCEOptional = false
		pub, err := h.Accounts.CreateApp(ctx, op, pubIn)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Accounts.UpdateApp(ctx, op, pub.App.ID, account.AppChange{PKCEOptional: &on, Name: &name})
		if le := latch.AsError(err); le == nil || le.Kind != latch.KindInvalid || le.Field != "pkce_optional" {
			t.Errorf("UpdateApp(public, pkce_optional) = %v, want Invalid on pkce_optional", err)
		}
		if got, _ := h.Store.AppByID(ctx, pub.App.ID); got.PKCEOptional || got.Name == name {
			t.Errorf("a refused update was written: %+v", got)
		}
		if d := updateDetails(pub.App.ID); len(d) != 0 {
			t.Errorf("a refused update was audited: %v", d)
		}
		apps, err := h.Accounts.Apps(ctx, op, "", 0)
		if err != nil || len(apps) != 3 {
			t.Errorf("apps after a refused registration: %d, %v; want 3", len(apps), err)
		}
	})
}

// TestConsents: a grant adds to what was granted, only within the app's
// scopes and tenant; MyApps lists live apps; revoking removes the consent.
func TestConsents(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		op := account.Operator("")
		in := goodApp()
		in.Scopes = []string{"openid", "email", "profile"}
		na, err := h.Accounts.CreateApp(ctx, op, in)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := h.OAuthUser(t, "consent@example.com")

		if _, err := h.Accounts.GrantConsent(ctx, u.ID, na.App.ID, []string{"openid"}); err != nil {
			t.Fatal(err)
		}
		c, err := h.Accounts.GrantConsent(ctx, u.ID, na.App.ID, []string{"email", "openid"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Scopes, []string{"openid", "email"}) {
			t.Errorf("consent scopes = %v, want openid email", c.Scopes)
		}
		if _, err := h.Accounts.GrantConsent(ctx, u.ID, na.App.ID, []string{"offline_access"}); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("a scope the app is not registered for: %v, want Invalid", err)
		}
		if _, err := h.Accounts.GrantConsent(ctx, u.ID, na.App.ID, nil); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("no scopes: %v, want Invalid", err)
		}

		// An app of another tenant does not exist for this user.
		other, err := h.Accounts.CreateTenant(ctx, op, "other")
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := h.Accounts.CreateApp(ctx, account.Operator(other.ID), goodApp())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.GrantConsent(ctx, u.ID, foreign.App.ID, []string{"openid"}); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("consent to another tenant's app: %v, want NotFound", err)
		}

		mine, err := h.Accounts.MyApps(ctx, u.ID)
		if err != nil || len(mine) != 1 || mine[0].AppID != na.App.ID || mine[0].Name != "Shop" {
			t.Fatalf("MyApps = %+v, %v", mine, err)
		}

		// A revoked app has no access left: not listed, no new consent.
		if err := h.Accounts.RevokeApp(ctx, op, na.App.ID); err != nil {
			t.Fatal(err)
		}
		if mine, _ := h.Accounts.MyApps(ctx, u.ID); len(mine) != 0 {
			t.Errorf("MyApps lists a revoked app: %+v", mine)
		}
		if _, err := h.Accounts.GrantConsent(ctx, u.ID, na.App.ID, []string{"openid"}); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("consent to a revoked app: %v, want NotFound", err)
		}

		if err := h.Accounts.RevokeConsent(ctx, u.ID, na.App.ID); err != nil {
			t.Fatal(err)
		}
		if consents, _ := h.Store.ConsentsByUser(ctx, u.ID); len(consents) != 0 {
			t.Errorf("after RevokeConsent: %v", consents)
		}
		if err := h.Accounts.RevokeConsent(ctx, u.ID, na.App.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("second RevokeConsent = %v, want NotFound", err)
		}
		evs, _ := h.Store.AuditEvents(ctx, latch.AuditQuery{ActorID: u.ID})
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
		}
		if !slices.Contains(actions, latch.AuditConsentGrant) || !slices.Contains(actions, latch.AuditConsentRevoke) {
			t.Errorf("audit actions by the user: %v", actions)
		}
	})
}
