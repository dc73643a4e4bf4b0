package account_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestIDTokenCarriesTheSecondFactor: an app's ID token says how the person
// signed in, second factor included (issue 16: "ID tokens carry amr"), and
// the pending session of the factor step gives an app nothing.
func TestIDTokenCarriesTheSecondFactor(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-oidc@example.com"
		p, e := mfaUser(t, h, email)
		pending := pendingLogin(t, h, email)

		app, err := h.Accounts.CreateApp(ctx, account.Operator(""), account.AppInput{
			Name: "Shop", Type: latch.AppConfidential, FirstParty: true, RedirectURIs: []string{opRedirect}, Scopes: latch.AppScopes(),
		})
		if err != nil {
			t.Fatal(err)
		}
		req, aerr := account.ParseAuthorizeRequest(url.Values{
			"client_id": {app.App.ID}, "response_type": {"code"}, "redirect_uri": {opRedirect}, "scope": {"openid"},
			"code_challenge": {challengeOf(opVerifier)}, "code_challenge_method": {"S256"}, "nonce": {opNonce},
		}, app.App, h.Clock.Now())
		if aerr != nil {
			t.Fatal(aerr)
		}
		if _, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: req, UserID: p.User.ID, ParentSessionID: pending.SessionID}); err == nil {
			t.Fatal("IssueAppCode from the pending session of the factor step: a code, want a refusal")
		}

		full, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "192.0.2.1")
		if err != nil {
			t.Fatalf("CompleteMFA: %v", err)
		}
		code, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: req, UserID: p.User.ID, ParentSessionID: full.SessionID})
		if err != nil {
			t.Fatalf("IssueAppCode from the completed sign-in: %v", err)
		}
		tokens, err := h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: app.App, Code: code, CodeVerifier: opVerifier, RedirectURI: opRedirect})
		if err != nil {
			t.Fatalf("ExchangeAppCode: %v", err)
		}
		_, claims := verifiedIDToken(t, h, tokens.IDToken)
		var amr []string
		raw, _ := claims["amr"].([]any)
		for _, v := range raw {
			s, _ := v.(string)
			amr = append(amr, s)
		}
		for _, want := range []string{account.AMRPassword, account.AMROTP, account.AMRMFA} {
			if !slices.Contains(amr, want) {
				t.Errorf("the ID token's amr %v lacks %q", amr, want)
			}
		}
	})
}
