package account_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

const (
	issuerCorp    = "https://sso.corp.example"
	issuerPartner = "https://id.partner.example"
)

func TestDecideLink(t *testing.T) {
	const otherTenant = "0190b8a2-7c1e-7d3a-9f00-00000000aaaa"
	user := func(id string, by latch.EmailVerification, active bool) latch.User {
		return latch.User{ID: id, TenantID: latch.DefaultTenantID, Email: "ada@example.com", Verified: by != "", VerifiedBy: by, Active: active}
	}
	byLink := user("u-link", latch.EmailVerifiedByLink, true)
	byProvider := user("u-provider", latch.EmailVerifiedByProvider, true)
	asserted := user("u-asserted", latch.EmailAsserted, true)
	legacy := user("u-legacy", latch.EmailVerifiedLegacy, true)
	unverified := user("u-unverified", latch.EmailUnverified, true)
	inactive := user("u-inactive", latch.EmailVerifiedByLink, false)
	linked := user("u-linked", latch.EmailVerifiedByProvider, true)
	elsewhere := byLink
	elsewhere.ID, elsewhere.TenantID = "u-elsewhere", otherTenant
	admin := unverified
	admin.ID, admin.Admin = "u-admin", true
	provenAdmin := byLink
	provenAdmin.ID, provenAdmin.Admin = "u-proven-admin", true
	match := func(u latch.User, unfinished bool) *account.EmailMatch {
		return &account.EmailMatch{User: u, Unfinished: unfinished}
	}
	ext := func(email string, verified bool) latch.ExternalIdentity {
		return latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "s-1", Email: email, EmailVerified: verified}
	}
	forTenant := func(e latch.ExternalIdentity, tenant string) latch.ExternalIdentity { e.TenantID = tenant; return e }
	cases := []struct {
		name       string
		ext        latch.ExternalIdentity
		byIdentity *latch.User
		byEmail    *account.EmailMatch
		outcome    account.LinkOutcome
		user       string
		code       string
	}{
		{"new person", ext("ada@example.com", true), nil, nil, account.OutcomeCreate, "", ""},
		{"new person, unverified email at the provider", ext("ada@example.com", false), nil, nil, account.OutcomeRefuse, "", account.CodeProviderEmailUnverified},
		{"returning person", ext("ada@example.com", true), &linked, nil, account.OutcomeSignIn, "u-linked", ""},
		{"returning person whose provider email changed", ext("new@example.com", false), &linked, match(byLink, false), account.OutcomeSignIn, "u-linked", ""},
		{"returning person, account deactivated", ext("ada@example.com", true), &inactive, nil, account.OutcomeRefuse, "", latch.CodeAccountInactive},
		{"identity in a tenant this provider does not serve", ext("ada@example.com", true), &elsewhere, nil, account.OutcomeRefuse, "", account.CodeProviderWrongTenant},
		{"provider verified, owner opened a Latch link", ext("ada@example.com", true), nil, match(byLink, false), account.OutcomeLink, "u-link", ""},
		{"provider verified, account made by a verified provider", ext("ada@example.com", true), nil, match(byProvider, false), account.OutcomeLink, "u-provider", ""},
		// An API client or operator said "verified": no proof of control.
		{"provider verified, email merely asserted", ext("ada@example.com", true), nil, match(asserted, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"provider verified, verified before Latch recorded how", ext("ada@example.com", true), nil, match(legacy, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"provider email unverified", ext("ada@example.com", false), nil, match(byLink, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"Latch email unverified, sign-up finished otherwise", ext("ada@example.com", true), nil, match(unverified, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"unfinished sign-up, provider verified: claimed", ext("ada@example.com", true), nil, match(unverified, true), account.OutcomeClaim, "u-unverified", ""},
		{"unfinished sign-up, provider unverified", ext("ada@example.com", false), nil, match(unverified, true), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"unfinished administrator is never claimed", ext("ada@example.com", true), nil, match(admin, true), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"administrator, proven email: never linked by email", ext("ada@example.com", true), nil, match(provenAdmin, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"match in another tenant, proven", ext("ada@example.com", true), nil, match(elsewhere, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"provider serving that tenant links there", forTenant(ext("ada@example.com", true), otherTenant), nil, match(elsewhere, false), account.OutcomeLink, "u-elsewhere", ""},
		{"provider serving another tenant refuses the default's", forTenant(ext("ada@example.com", true), otherTenant), nil, match(byLink, false), account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"match is deactivated", ext("ada@example.com", true), nil, match(inactive, false), account.OutcomeRefuse, "", latch.CodeAccountInactive},
		{"no email from the provider", ext("", false), nil, nil, account.OutcomeRefuse, "", account.CodeProviderEmailMissing},
	}
	for _, c := range cases {
		d := account.DecideLink(c.ext, c.byIdentity, c.byEmail)
		if d.Outcome != c.outcome || d.User.ID != c.user || d.Code != c.code {
			t.Errorf("%s: %s %q %q, want %s %q %q", c.name, d.Outcome, d.User.ID, d.Code, c.outcome, c.user, c.code)
		}
		if d.Outcome == account.OutcomeRefuse && d.Reason == "" {
			t.Errorf("%s: refused without a reason", c.name)
		}
	}
}

func TestSignInWithIdentity(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		gh := latch.ExternalIdentity{Provider: latch.ProviderGitHub, Issuer: latch.WellKnownIssuer(latch.ProviderGitHub), Subject: "gh-42",
			Email: "Lin@Example.com", EmailVerified: true, FirstName: "Lin", Picture: "https://avatars.example/42"}
		u, pair, err := h.Accounts.SignInWithIdentity(ctx, gh)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Verified || u.VerifiedBy != latch.EmailVerifiedByProvider || u.ProfilePicture != gh.Picture || u.FirstName != "Lin" || pair.RefreshToken == "" {
			t.Fatalf("created %+v", u)
		}
		if ok, _ := h.Accounts.HasPassword(ctx, u.ID); ok {
			t.Fatal("an account made by a provider sign-in has a password")
		}
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil || p.User.ID != u.ID {
			t.Fatalf("its token: %v", err)
		}
		// Again: the same account, found by identity.
		again, _, err := h.Accounts.SignInWithIdentity(ctx, gh)
		if err != nil || again.ID != u.ID {
			t.Fatalf("second sign-in: %v, %v", again.ID, err)
		}
		// Google with the same verified email links to it: the account's
		// email was proven by GitHub.
		google := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle), Subject: "g-42", Email: "lin@example.com", EmailVerified: true}
		linked, _, err := h.Accounts.SignInWithIdentity(ctx, google)
		if err != nil || linked.ID != u.ID {
			t.Fatalf("link: %v, %v", linked.ID, err)
		}
		ids, _ := h.Accounts.Identities(ctx, u.ID)
		if len(ids) != 2 {
			t.Fatalf("identities after linking: %+v", ids)
		}
		// An unverified email at another provider is refused, not linked.
		sneaky := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "x-1", Email: "lin@example.com", EmailVerified: false}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, sneaky); !latch.IsCode(err, account.CodeEmailNotLinkable) || !latch.IsKind(err, latch.KindForbidden) {
			t.Fatalf("unverified email: %v", err)
		}
		if ids, _ := h.Accounts.Identities(ctx, u.ID); len(ids) != 2 {
			t.Fatalf("the refused identity was linked: %+v", ids)
		}
	})
}

// Critical finding: two OIDC providers handing out the same subject are two
// people. Before the fix identities were keyed by type ("oidc"), and the
// partner's user signed straight into the corp user's account.
func TestSameSubjectAtTwoIssuers(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		alice := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "same-sub", Email: "alice@corp.example", EmailVerified: true}
		mallory := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerPartner, Subject: "same-sub", Email: "mallory@partner.example", EmailVerified: true}
		a, _, err := h.Accounts.SignInWithIdentity(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := h.Accounts.SignInWithIdentity(ctx, mallory)
		if err != nil {
			t.Fatal(err)
		}
		if m.ID == a.ID || m.Email != "mallory@partner.example" {
			t.Fatalf("the partner's user signed in to %s (%s); alice is %s", m.ID, m.Email, a.ID)
		}
		again, _, err := h.Accounts.SignInWithIdentity(ctx, alice)
		if err != nil || again.ID != a.ID {
			t.Fatalf("alice again: %v, %v", again.ID, err)
		}
	})
}

// High finding: an API client (or operator) that creates an account with
// email_verified true, and even a password it knows, must not capture the
// real person's first provider sign-in.
func TestAssertedEmailDoesNotCaptureSignIn(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		tenant, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "tenant-a")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ email, tenant string }{
			{"victim@corp.example", tenant.ID},              // planted in another tenant
			{"victim2@corp.example", latch.DefaultTenantID}, // planted in the provider's own tenant
		} {
			_, _, token := h.APIClient(t, latch.ScopeManageAll, tc.tenant, false)
			a, err := h.Accounts.AuthenticateClient(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			planted, err := h.Accounts.AdminCreateUser(ctx, a, account.AdminCreateUserInput{Email: tc.email, Verified: true, Password: "Planted-Pass-123!"})
			if err != nil {
				t.Fatal(err)
			}
			if planted.VerifiedBy != latch.EmailAsserted {
				t.Errorf("a client's email_verified recorded as %q, want asserted", planted.VerifiedBy)
			}
			victim := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle), Subject: "victim-" + tc.email,
				Email: tc.email, EmailVerified: true}
			if _, _, err := h.Accounts.SignInWithIdentity(ctx, victim); !latch.IsCode(err, account.CodeEmailNotLinkable) {
				t.Fatalf("%s: the victim's sign-in: %v; want %s", tc.email, err, account.CodeEmailNotLinkable)
			}
			if ids, _ := h.Accounts.Identities(ctx, planted.ID); len(ids) != 0 {
				t.Fatalf("%s: the victim's identity was linked into the planted account: %+v", tc.email, ids)
			}
		}
	})
}

// Medium finding 3's last part: an unfinished sign-up (anyone may sign up
// with any address) does not lock the address's owner out of provider
// sign-in: a provider-verified owner takes it over, with a fresh profile.
func TestProviderClaimsUnfinishedSignUp(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "owner@example.com", FirstName: "Squatter", LastName: "X"}); err != nil {
			t.Fatal(err)
		}
		h.Accounts.Wait()
		squatted, err := h.Accounts.UserByEmail(ctx, "owner@example.com")
		if err != nil {
			t.Fatal(err)
		}
		owner := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "owner", Email: "owner@example.com", EmailVerified: true, FirstName: "Real", LastName: "Owner"}
		u, pair, err := h.Accounts.SignInWithIdentity(ctx, owner)
		if err != nil {
			t.Fatalf("the owner's provider sign-in: %v", err)
		}
		if u.ID != squatted.ID || u.VerifiedBy != latch.EmailVerifiedByProvider || u.FirstName != "Real" || u.LastName != "Owner" || pair.AccessToken == "" {
			t.Fatalf("claimed %+v", u)
		}
		// Claimed once: a second claimant with the same verified email at
		// another issuer now meets a proven account and links (the normal
		// rule), never claims again.
		ids, _ := h.Accounts.Identities(ctx, u.ID)
		if len(ids) != 1 || ids[0].Issuer != issuerCorp {
			t.Fatalf("identities: %+v", ids)
		}
		// A provider that did not verify the email never claims.
		if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "other-owner@example.com"}); err != nil {
			t.Fatal(err)
		}
		h.Accounts.Wait()
		unverified := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "other", Email: "other-owner@example.com", EmailVerified: false}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, unverified); !latch.IsCode(err, account.CodeEmailNotLinkable) {
			t.Fatalf("an unverified claim: %v", err)
		}
	})
}

// A provider serves one tenant: its sign-ins never land in another's user,
// even by a proven email.
func TestProviderServesOneTenant(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		tenant, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "tenant-b")
		if err != nil {
			t.Fatal(err)
		}
		// An account of tenant-b made by tenant-b's provider.
		b := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerPartner, TenantID: tenant.ID, Subject: "b-1", Email: "shared@example.com", EmailVerified: true}
		ub, _, err := h.Accounts.SignInWithIdentity(ctx, b)
		if err != nil || ub.TenantID != tenant.ID {
			t.Fatalf("tenant-b's provider: %+v, %v", ub, err)
		}
		// The default tenant's provider, same verified email: refused.
		d := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "d-1", Email: "shared@example.com", EmailVerified: true}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, d); !latch.IsCode(err, account.CodeEmailNotLinkable) {
			t.Fatalf("a provider of another tenant linked: %v", err)
		}
		// And if the operator re-points tenant-b's provider at the default
		// tenant, its known identities are refused, not moved.
		moved := b
		moved.TenantID = ""
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, moved); !latch.IsCode(err, account.CodeProviderWrongTenant) {
			t.Fatalf("an identity of another tenant signed in: %v", err)
		}
	})
}

// Low finding: an administrator's change_at_next_login also holds for a
// sign-in with a linked provider: only the password-change token.
func TestProviderSignInMustChangePassword(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		ext := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "mc", Email: "mc@example.com", EmailVerified: true}
		u, _, err := h.Accounts.SignInWithIdentity(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		_, _, token := h.APIClient(t, latch.ScopeManageAll, latch.DefaultTenantID, false)
		a, err := h.Accounts.AuthenticateClient(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		pw := "Admin-Set-Pass-1!"
		if err := h.Accounts.AdminSetPassword(ctx, a, account.AdminSetPasswordInput{
			User: account.UserRef{ID: u.ID}, Password: &pw, Confirmation: &pw, ChangeAtNextLogin: true,
		}); err != nil {
			t.Fatal(err)
		}
		_, pair, err := h.Accounts.SignInWithIdentity(ctx, ext)
		if !latch.IsCode(err, latch.CodePasswordChangeRequired) {
			t.Fatalf("provider sign-in after change_at_next_login: %v", err)
		}
		if pair.RefreshToken != "" || len(pair.Scopes) != 1 || pair.Scopes[0] != latch.ScopePasswordChange {
			t.Fatalf("the pair handed out: %+v", pair)
		}
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil || p.Session.HasScope(latch.ScopeUserRead) {
			t.Fatalf("its token: %+v, %v", p.Session.Scopes, err)
		}
		// Through a one-time code (the HTTP flow) too.
		verifier := strings.Repeat("v", 43)
		code, err := h.Accounts.IssueAuthorizationCode(ctx, u, challengeOf(verifier), "https://app.example/cb", "")
		if err != nil {
			t.Fatal(err)
		}
		if pair, err := h.Accounts.RedeemAuthorizationCode(ctx, code, verifier, "https://app.example/cb"); !latch.IsCode(err, latch.CodePasswordChangeRequired) || pair.RefreshToken != "" {
			t.Fatalf("redeeming a provider code: %+v, %v", pair, err)
		}
	})
}

// Two first sign-ins of one identity at once make one account.
func TestSignInWithIdentityRace(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		ext := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle), Subject: "g-race", Email: "race-oauth@example.com", EmailVerified: true}
		const n = 8
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, _, err := h.Accounts.SignInWithIdentity(ctx, ext)
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = u.ID
			}()
		}
		wg.Wait()
		for i := range ids {
			if ids[i] != ids[0] {
				t.Fatalf("concurrent first sign-ins made different accounts: %v", ids)
			}
		}
	})
}

func TestPlanLegacyAttribution(t *testing.T) {
	corp := latch.ProviderInstance{Name: "corp", Type: latch.ProviderOIDC, Issuer: issuerCorp}
	partner := latch.ProviderInstance{Name: "partner", Type: latch.ProviderOIDC, Issuer: issuerPartner}
	corpAgain := latch.ProviderInstance{Name: "corp-2", Type: latch.ProviderOIDC, Issuer: issuerCorp}
	google := latch.ProviderInstance{Name: "google", Type: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle)}
	cases := []struct {
		name       string
		counts     map[latch.Provider]int
		configured []latch.ProviderInstance
		want       map[latch.Provider]string
		wantErr    string
	}{
		{"nothing to do", nil, []latch.ProviderInstance{corp}, map[latch.Provider]string{}, ""},
		// Never a guess for oidc and github: the command to run is given.
		{"one oidc provider", map[latch.Provider]int{latch.ProviderOIDC: 3}, []latch.ProviderInstance{corp, google}, nil, "latch identities attribute --type oidc --issuer https://sso.corp.example"},
		{"two names, one issuer", map[latch.Provider]int{latch.ProviderOIDC: 3}, []latch.ProviderInstance{corp, corpAgain}, nil, "latch identities attribute --type oidc --issuer https://sso.corp.example"},
		{"one github provider", map[latch.Provider]int{latch.ProviderGitHub: 1}, []latch.ProviderInstance{{Name: "ghe", Type: latch.ProviderGitHub, Issuer: "https://ghe.example/api/v3"}}, nil, "--type github --issuer https://ghe.example/api/v3"},
		{"google, none configured", map[latch.Provider]int{latch.ProviderGoogle: 2}, nil, map[latch.Provider]string{latch.ProviderGoogle: latch.WellKnownIssuer(latch.ProviderGoogle)}, ""},
		{"two oidc issuers: ambiguous", map[latch.Provider]int{latch.ProviderOIDC: 3}, []latch.ProviderInstance{corp, partner}, nil, "several oidc providers are configured: corp (https://sso.corp.example), partner (https://id.partner.example)"},
		{"no oidc provider", map[latch.Provider]int{latch.ProviderOIDC: 1}, []latch.ProviderInstance{google}, nil, "no oidc provider is configured"},
		{"no github provider", map[latch.Provider]int{latch.ProviderGitHub: 1}, nil, nil, "latch identities attribute --type github --issuer"},
		{"linkedin from imports", map[latch.Provider]int{latch.ProviderLinkedIn: 2, latch.ProviderGoogle: 1}, []latch.ProviderInstance{google}, map[latch.Provider]string{latch.ProviderLinkedIn: "https://www.linkedin.com/oauth", latch.ProviderGoogle: latch.WellKnownIssuer(latch.ProviderGoogle)}, ""},
	}
	for _, c := range cases {
		plan, err := account.PlanLegacyAttribution(c.counts, c.configured)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
			}
			continue
		}
		got := map[latch.Provider]string{}
		for _, a := range plan {
			got[a.Type] = a.Issuer
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, plan, err, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s -> %s, want %s", c.name, k, got[k], v)
			}
		}
	}
}

// A provider's email is compared, stored and linked only in its canonical
// form: a look-alike (the Kelvin sign for K) that has none is no address,
// so it neither matches the ASCII account nor makes one of its own.
func TestProviderLookalikeEmailIsNoAddress(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		real := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "kim", Email: "kim@example.com", EmailVerified: true}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, real); err != nil {
			t.Fatal(err)
		}
		lookalike := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerPartner, Subject: "kim", Email: "\u212Aim@example.com", EmailVerified: true}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, lookalike); !latch.IsCode(err, account.CodeProviderEmailMissing) {
			t.Fatalf("a look-alike provider email: %v", err)
		}
		// Full-width letters are the same letters: that address is kim's,
		// proven by corp, so partner's verified identity links to it.
		fullwidth := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerPartner, Subject: "kim-2", Email: "\uff4bim@example.com", EmailVerified: true}
		u, _, err := h.Accounts.SignInWithIdentity(ctx, fullwidth)
		if err != nil || u.Email != "kim@example.com" {
			t.Fatalf("a full-width spelling of kim's address: %+v, %v", u, err)
		}
		if ids, _ := h.Accounts.Identities(ctx, u.ID); len(ids) != 2 || ids[1].Email != "kim@example.com" {
			t.Fatalf("identities: %+v", ids)
		}
	})
}
