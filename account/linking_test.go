package account_test

import (
	"context"
	"sync"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

func TestDecideLink(t *testing.T) {
	verified := latch.User{ID: "u-verified", Email: "ada@example.com", Verified: true, Active: true}
	unverified := latch.User{ID: "u-unverified", Email: "ada@example.com", Verified: false, Active: true}
	inactive := latch.User{ID: "u-inactive", Email: "ada@example.com", Verified: true, Active: false}
	linked := latch.User{ID: "u-linked", Email: "old@example.com", Verified: true, Active: true}
	ext := func(email string, verified bool) latch.ExternalIdentity {
		return latch.ExternalIdentity{Provider: latch.ProviderGoogle, Subject: "g-1", Email: email, EmailVerified: verified}
	}
	cases := []struct {
		name       string
		ext        latch.ExternalIdentity
		byIdentity *latch.User
		byEmail    *latch.User
		outcome    account.LinkOutcome
		user       string
		code       string
	}{
		{"new person", ext("ada@example.com", true), nil, nil, account.OutcomeCreate, "", ""},
		{"new person, unverified email at the provider", ext("ada@example.com", false), nil, nil, account.OutcomeCreate, "", ""},
		{"returning person", ext("ada@example.com", true), &linked, nil, account.OutcomeSignIn, "u-linked", ""},
		{"returning person whose provider email changed", ext("new@example.com", false), &linked, &verified, account.OutcomeSignIn, "u-linked", ""},
		{"returning person, account deactivated", ext("ada@example.com", true), &inactive, nil, account.OutcomeRefuse, "", latch.CodeAccountInactive},
		{"both emails verified", ext("ada@example.com", true), nil, &verified, account.OutcomeLink, "u-verified", ""},
		{"provider email unverified", ext("ada@example.com", false), nil, &verified, account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"Latch email unverified", ext("ada@example.com", true), nil, &unverified, account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"neither verified", ext("ada@example.com", false), nil, &unverified, account.OutcomeRefuse, "", account.CodeEmailNotLinkable},
		{"match is deactivated", ext("ada@example.com", true), nil, &inactive, account.OutcomeRefuse, "", latch.CodeAccountInactive},
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
		gh := latch.ExternalIdentity{Provider: latch.ProviderGitHub, Subject: "gh-42", Email: "Lin@Example.com", EmailVerified: true, FirstName: "Lin", Picture: "https://avatars.example/42"}
		u, pair, err := h.Accounts.SignInWithIdentity(ctx, gh)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Verified || u.ProfilePicture != gh.Picture || u.FirstName != "Lin" || pair.RefreshToken == "" {
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
		// Google with the same verified email links to it.
		google := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Subject: "g-42", Email: "lin@example.com", EmailVerified: true}
		linked, _, err := h.Accounts.SignInWithIdentity(ctx, google)
		if err != nil || linked.ID != u.ID {
			t.Fatalf("link: %v, %v", linked.ID, err)
		}
		ids, _ := h.Accounts.Identities(ctx, u.ID)
		if len(ids) != 2 {
			t.Fatalf("identities after linking: %+v", ids)
		}
		// An unverified email at another provider is refused, not linked.
		sneaky := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Subject: "x-1", Email: "lin@example.com", EmailVerified: false}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, sneaky); !latch.IsCode(err, account.CodeEmailNotLinkable) || !latch.IsKind(err, latch.KindForbidden) {
			t.Fatalf("unverified email: %v", err)
		}
		if ids, _ := h.Accounts.Identities(ctx, u.ID); len(ids) != 2 {
			t.Fatalf("the refused identity was linked: %+v", ids)
		}
	})
}

// Two first sign-ins of one identity at once make one account.
func TestSignInWithIdentityRace(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		ext := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Subject: "g-race", Email: "race-oauth@example.com", EmailVerified: true}
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
