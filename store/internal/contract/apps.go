package contract

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/latchid/latch"
)

// App returns a in the form the backends store: the id kept as given (it
// is the client_id, opaque), the tenant canonical, the lists normalised
// (nil for none) and the times truncated and defaulted. It refuses what
// the tables' CHECKs would, so both backends answer Invalid alike instead
// of a constraint error. A malformed tenant id is NotFound, like any tenant
// that does not exist.
func App(a latch.App, now func() time.Time) (latch.App, error) {
	if !ClientID(a.ID) {
		return a, Invalid("id", "app id is empty or not UTF-8 text")
	}
	tenantID, ok := ID(a.TenantID)
	if !ok {
		return a, NotFound("tenant")
	}
	a.TenantID = tenantID
	a.CreatedAt = Or(a.CreatedAt, now)
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	a.UpdatedAt = Time(a.UpdatedAt)
	a.RevokedAt = TimePtr(a.RevokedAt)
	return AppFields(a)
}

// AppFields checks the fields of a that UpdateApp may change, and the
// rules tying them to its type; it normalises empty lists to nil.
func AppFields(a latch.App) (latch.App, error) {
	if !Text(a.Name) {
		return a, Invalid("name", "app name is not UTF-8 text")
	}
	switch a.Type {
	case latch.AppPublic:
		if a.SecretHash != nil {
			return a, Invalid("secret_hash", "a public app has no secret")
		}
	case latch.AppConfidential:
		if len(a.SecretHash) == 0 {
			return a, Invalid("secret_hash", "a confidential app needs a secret hash")
		}
	default:
		return a, Invalid("type", "app type must be public or confidential")
	}
	if a.ClientCredentials && a.Type != latch.AppConfidential {
		return a, Invalid("client_credentials", "only a confidential app may use client_credentials")
	}
	if a.PKCEOptional && a.Type != latch.AppConfidential {
		return a, Invalid("pkce_optional", "only a confidential app may leave out PKCE")
	}
	for field, list := range map[string][]string{
		"redirect_uris": a.RedirectURIs, "post_logout_redirect_uris": a.PostLogoutRedirectURIs, "scopes": a.Scopes,
	} {
		for _, s := range list {
			if !Text(s) {
				return a, Invalid(field, field+" holds a value that is not UTF-8 text")
			}
		}
	}
	if _, err := JoinScopes(a.Scopes); err != nil {
		return a, err
	}
	a.RedirectURIs = nilIfEmpty(a.RedirectURIs)
	a.PostLogoutRedirectURIs = nilIfEmpty(a.PostLogoutRedirectURIs)
	a.Scopes = nilIfEmpty(a.Scopes)
	return a, nil
}

// ApplyAppUpdate returns a with up's non-nil fields, checked as CreateApp
// checks them.
func ApplyAppUpdate(a latch.App, up latch.AppUpdate, at time.Time) (latch.App, error) {
	if up.Name != nil {
		a.Name = *up.Name
	}
	if up.RedirectURIs != nil {
		a.RedirectURIs = slices.Clone(*up.RedirectURIs)
	}
	if up.PostLogoutRedirectURIs != nil {
		a.PostLogoutRedirectURIs = slices.Clone(*up.PostLogoutRedirectURIs)
	}
	if up.Scopes != nil {
		a.Scopes = slices.Clone(*up.Scopes)
	}
	if up.FirstParty != nil {
		a.FirstParty = *up.FirstParty
	}
	if up.ClientCredentials != nil {
		a.ClientCredentials = *up.ClientCredentials
	}
	if up.PKCEOptional != nil {
		a.PKCEOptional = *up.PKCEOptional
	}
	a.UpdatedAt = Time(at)
	return AppFields(a)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// EncodeURIs is the stored form of a list of URIs: a JSON array ("[]" for
// none), so that every string comes back exactly.
func EncodeURIs(uris []string) (string, error) {
	if uris == nil {
		uris = []string{}
	}
	b, err := json.Marshal(uris)
	if err != nil {
		return "", latch.Internal(err)
	}
	return string(b), nil
}

// DecodeURIs reverses EncodeURIs; none is nil.
func DecodeURIs(s string) ([]string, error) {
	var uris []string
	if err := json.Unmarshal([]byte(s), &uris); err != nil {
		return nil, latch.Internal(err)
	}
	return nilIfEmpty(uris), nil
}

// AppQuery returns q in the form the backends run it: the tenant
// canonical (required) and the limit bounded.
func AppQuery(q latch.AppQuery) (latch.AppQuery, error) {
	if q.TenantID == "" {
		return q, Invalid("tenant_id", "a tenant is required")
	}
	tenantID, err := TenantFilter(q.TenantID)
	if err != nil {
		return q, err
	}
	q.TenantID = tenantID
	if !Text(q.AfterID) {
		return q, Invalid("after", "the cursor is not UTF-8 text")
	}
	q.Limit = Limit(q.Limit)
	return q, nil
}

// Consent returns c in the form the backends store; an id that cannot
// name a user or an app is NotFound.
func Consent(c latch.AppConsent, now func() time.Time) (latch.AppConsent, error) {
	userID, ok := ID(c.UserID)
	if !ok {
		return c, NotFound("user")
	}
	c.UserID = userID
	if !ClientID(c.AppID) {
		return c, NotFound("app")
	}
	if _, err := JoinScopes(c.Scopes); err != nil {
		return c, err
	}
	c.GrantedAt = Or(c.GrantedAt, now)
	return c, nil
}

// UnionScopes returns the scopes of had followed by those of more not in
// it, each once: a consent grows in the order it was granted.
func UnionScopes(had, more []string) []string {
	out := make([]string, 0, len(had)+len(more))
	for _, s := range slices.Concat(had, more) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return nilIfEmpty(out)
}
