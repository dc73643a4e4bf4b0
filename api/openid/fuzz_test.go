package openid_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// FuzzTokenRequest: whatever body and Authorization header a client
// sends to the token, revocation and introspection endpoints, the answer
// is never a 500 and always RFC 6749's JSON (a success or a §5.2 error).
func FuzzTokenRequest(f *testing.F) {
	f.Add("grant_type=authorization_code&code=c&client_id=5pa", "")
	f.Add("grant_type=refresh_token&refresh_token=r&scope=openid+email", basicFor("c0ffee", "s"))
	f.Add("grant_type=client_credentials&client_id=a&client_id=b", "Basic Og==")
	f.Add("token=t&token_type_hint=x", "Basic "+"%%%")
	f.Add("a=%zz;b", "Bearer x")
	f.Fuzz(func(t *testing.T, body, authorization string) {
		fake := &fakeAccounts{t: t,
			AuthenticateAppClientFn: func(_ context.Context, auth account.AppClientAuth) (latch.App, error) {
				if auth.ClientID == "" {
					t.Errorf("authenticated without a client id: %+v", auth)
				}
				return confidentialApp, nil
			},
			ExchangeAppCodeFn: func(context.Context, account.AppCodeExchange) (account.AppTokens, error) {
				return account.AppTokens{}, &latch.Error{Kind: latch.KindInvalid, Code: account.TokenInvalidGrant, Message: "no"}
			},
			RefreshAppGrantFn: func(context.Context, latch.App, string, []string) (account.AppTokens, error) {
				return account.AppTokens{AccessToken: "a", Scopes: []string{"openid"}}, nil
			},
			AppClientCredentialsFn: func(context.Context, latch.App, []string) (account.AppTokens, error) {
				return account.AppTokens{AccessToken: "a"}, nil
			},
			RevokeAppTokenFn: func(context.Context, latch.App, string, string) error { return nil },
			IntrospectAppTokenFn: func(context.Context, latch.App, string, string) (account.Introspection, error) {
				return account.Introspection{}, nil
			},
		}
		h := serve(t, fake, testIssuer)
		header := withHeader("Authorization", authorization)
		if authorization == "" {
			header = formHeader
		}
		for _, path := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"} {
			a := call(h, "POST", path, header, body)
			if a.status >= 500 {
				t.Fatalf("POST %s: %d %s", path, a.status, a.body)
			}
			if path == "/oauth2/revoke" && a.status == 200 {
				continue // an empty body
			}
			var m map[string]any
			if err := json.Unmarshal(a.body, &m); err != nil {
				t.Fatalf("POST %s: %d, not JSON: %q", path, a.status, a.body)
			}
			if _, isError := m["error"]; isError != (a.status != 200) {
				t.Fatalf("POST %s: %d %s", path, a.status, a.body)
			}
		}
	})
}
