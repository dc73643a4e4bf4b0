// Package openid is Latch's OpenID Provider surface (issue 15): the JSON
// endpoints of OAuth 2.0 and OpenID Connect, each in the shape its RFC
// gives it: the token endpoint (RFC 6749, RFC 7636), userinfo (OpenID
// Connect Core §5.3, RFC 6750), revocation (RFC 7009), introspection (RFC
// 7662) and the provider's metadata (Discovery 1.0, RFC 8414). The
// browser's side of the protocol (the authorization endpoint, consent,
// logout) is package web's; the JWKS is package native's.
//
// The surface has no OpenAPI document: its contract is those RFCs and the
// discovery document, which names every endpoint it serves.
package openid

import (
	"slices"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// The endpoints' paths under the issuer. jwks_uri is the JWKS Latch
// already serves for its own tokens; it lists the OpenID family too.
const (
	PathAuthorize  = "/oauth2/authorize"
	PathToken      = "/oauth2/token"
	PathUserinfo   = "/oauth2/userinfo"
	PathJWKS       = "/.well-known/jwks.json"
	PathRevoke     = "/oauth2/revoke"
	PathIntrospect = "/oauth2/introspect"
	PathEndSession = "/oauth2/logout"
)

// Document is the provider's metadata: OpenID Connect Discovery 1.0 §3
// and RFC 8414 §2 (one document serves both). It states only what Latch
// does: an RP that reads it must not be led to try anything Latch refuses.
type Document struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`

	ScopesSupported        []string `json:"scopes_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
	ResponseModesSupported []string `json:"response_modes_supported"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	SubjectTypesSupported  []string `json:"subject_types_supported"`
	PromptValuesSupported  []string `json:"prompt_values_supported"`
	ACRValuesSupported     []string `json:"acr_values_supported"`
	ClaimsSupported        []string `json:"claims_supported"`

	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`

	TokenEndpointAuthMethodsSupported         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`

	ClaimsParameterSupported                   bool `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// Discovery is the metadata of the provider at issuer, which is used
// exactly as configured: RPs compare it byte for byte with the ID
// token's iss (Discovery §4.3, RFC 8414 §3.3). The endpoints are the
// issuer joined with their paths; a trailing slash on the issuer is not
// doubled. idTokenAlgs are the algorithms ID tokens are signed with
// (token.Keys.OIDCAlgorithm).
func Discovery(issuer string, idTokenAlgs []string) Document {
	base := strings.TrimSuffix(issuer, "/")
	return Document{
		Issuer:                issuer,
		AuthorizationEndpoint: base + PathAuthorize,
		TokenEndpoint:         base + PathToken,
		UserinfoEndpoint:      base + PathUserinfo,
		JWKSURI:               base + PathJWKS,
		RevocationEndpoint:    base + PathRevoke,
		IntrospectionEndpoint: base + PathIntrospect,
		EndSessionEndpoint:    base + PathEndSession,

		ScopesSupported:        latch.AppScopes(),
		ResponseTypesSupported: []string{"code"},
		ResponseModesSupported: []string{"query"},
		GrantTypesSupported:    []string{"authorization_code", "refresh_token", "client_credentials"},
		SubjectTypesSupported:  []string{"public"},
		// select_account is accepted and asks for a sign-in, as login does.
		PromptValuesSupported: []string{account.PromptNone, account.PromptLogin, account.PromptConsent, account.PromptSelectAccount},
		ACRValuesSupported:    []string{ACRPassword, ACRFederated},
		ClaimsSupported: []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "amr", "acr",
			"email", "email_verified", "name", "given_name", "family_name", "picture", "updated_at",
		},

		IDTokenSigningAlgValuesSupported: slices.Clone(idTokenAlgs),

		// Public apps authenticate with none (PKCE alone) at the token
		// endpoint, and may revoke their own tokens (RFC 7009 §2.1);
		// introspection is for confidential apps only.
		TokenEndpointAuthMethodsSupported:         []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		// S256 only: plain is refused (RFC 9700 §2.1.1). Listing it is
		// also what makes RPs such as Dex send a challenge at all.
		CodeChallengeMethodsSupported: []string{"S256"},

		ClaimsParameterSupported:     false,
		RequestParameterSupported:    false,
		RequestURIParameterSupported: false,
		// Every authorization response carries iss (RFC 9207).
		AuthorizationResponseIssParameterSupported: true,
	}
}

// The acr values of ID tokens: how the person signed in (a password, or
// an outside provider). acr_values in a request is accepted and never
// fails it (Core §15.1). The use cases set them (account), so they are
// defined there.
const (
	ACRPassword  = account.ACRPassword
	ACRFederated = account.ACRFederated
)
