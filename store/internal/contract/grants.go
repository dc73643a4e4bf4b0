package contract

import (
	"maps"
	"strconv"
	"time"

	"github.com/latchid/latch"
)

// Grant is the checked, storable form of the OpenID fields a session or an
// authorization code carries (issue 15): nil pointers are SQL NULL, lists
// are space-separated as scopes are.
type Grant struct {
	AppID           *string // NULL: Latch's own flow or a native session
	ParentSessionID *string // NULL: no browser session behind it
	AMR             string
	AuthTime        *time.Time // NULL: not recorded
}

// SessionGrant checks and encodes the grant fields of s.
func SessionGrant(s latch.Session) (Grant, error) {
	return grant(s.AppID, s.ParentSessionID, s.AMR, s.AuthTime)
}

// CodeGrant checks and encodes the grant fields of c.
func CodeGrant(c latch.AuthorizationCode) (Grant, error) {
	return grant(c.AppID, c.ParentSessionID, c.AMR, c.AuthTime)
}

func grant(appID, parentID string, amr []string, authTime time.Time) (Grant, error) {
	var g Grant
	if appID != "" {
		g.AppID = &appID
	}
	if parentID != "" {
		id, ok := ID(parentID)
		if !ok {
			return Grant{}, Invalid("parent_session_id", "parent session id must be a UUID")
		}
		g.ParentSessionID = &id
	}
	joined, err := JoinScopes(amr)
	if err != nil {
		return Grant{}, Invalid("amr", "an authentication method must be non-empty and hold no whitespace")
	}
	g.AMR = joined
	if !authTime.IsZero() {
		t := Time(authTime)
		g.AuthTime = &t
	}
	return g, nil
}

// GrantMatchesCode checks that grant, the session RedeemAppCode is to
// store, is the code's: the same user and app. A mismatch is the caller's
// bug, refused before anything is written.
func GrantMatchesCode(grant latch.Session, userID, appID string) error {
	if grant.UserID != userID || grant.AppID != appID {
		return Invalid("grant", "the grant session must be the code's user's and app's")
	}
	return nil
}

// GrantsRevoked records on e, the audit event of a revocation that ended
// app grants (RevokeApp, RevokeConsent), how many it ended: "what was
// ended" is part of the record. e's Details are replaced by a copy, so the
// caller's map is never written. A nil e is left alone.
func GrantsRevoked(e *latch.AuditEvent, n int64) {
	if e == nil {
		return
	}
	d := make(map[string]string, len(e.Details)+1)
	maps.Copy(d, e.Details)
	d["grants_revoked"] = strconv.FormatInt(n, 10)
	e.Details = d
}
