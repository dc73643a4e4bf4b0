package latch

import (
	"context"
	"strings"
	"time"
)

// Tenant is an account in the seed-001 sense: a set of users and API
// clients administered together, with one password policy. Number is the
// integer seed 001 reports as account_id.
type Tenant struct {
	ID        string
	Number    int64
	Name      string // unique
	CreatedAt time.Time
}

// Scope is what an API client may do. Each client has exactly one.
type Scope string

// The scopes, from weakest to strongest (seed 001's names).
const (
	ScopeAuthenticationOnly Scope = "Authentication Only"
	ScopeReadUsers          Scope = "Read Users"
	ScopeManageUsers        Scope = "Manage Users"
	ScopeReadAll            Scope = "Read All"
	ScopeManageAll          Scope = "Manage All"
)

// Scopes lists every scope, weakest first.
func Scopes() []Scope {
	return []Scope{ScopeAuthenticationOnly, ScopeReadUsers, ScopeManageUsers, ScopeReadAll, ScopeManageAll}
}

// ParseScope accepts a scope's name in any case, with spaces, dashes or
// underscores between the words ("Manage All", "manage_all").
func ParseScope(s string) (Scope, bool) {
	key := strings.NewReplacer("_", " ", "-", " ").Replace(strings.ToLower(strings.TrimSpace(s)))
	for _, sc := range Scopes() {
		if strings.ToLower(string(sc)) == key {
			return sc, true
		}
	}
	return "", false
}

// Permission is what an administrative operation needs.
type Permission int

const (
	// PermReadUsers: list and read users and their sessions.
	PermReadUsers Permission = iota + 1
	// PermManageUsers: create, update, delete users, revoke sessions.
	PermManageUsers
	// PermReadAll: read everything of the tenant (policy, audit log).
	PermReadAll
	// PermManageAll: everything, including setting passwords (seed 001:
	// "This API can be called using the Manage All scope only") and the
	// password policy.
	PermManageAll
)

// Grants reports whether a client with scope s may do what p needs. The
// scopes are ordered, but "Read All" is read-only: it reads everything a
// "Manage Users" client can change, and changes nothing itself (OneLogin's
// meaning of the two).
func (s Scope) Grants(p Permission) bool {
	switch s {
	case ScopeManageAll:
		return true
	case ScopeReadAll:
		return p == PermReadUsers || p == PermReadAll
	case ScopeManageUsers:
		return p == PermReadUsers || p == PermManageUsers
	case ScopeReadUsers:
		return p == PermReadUsers
	}
	return false
}

// Client is an API client: a machine caller of the administration API
// that authenticates with its id and secret (client credentials). Only the
// SHA-256 of the secret is stored.
type Client struct {
	ID       string // public, random
	TenantID string
	Name     string
	Scope    Scope
	// Super clients may act on administrators (User.Admin); others may not.
	Super      bool
	SecretHash []byte
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Live reports whether the client may still be used.
func (c Client) Live() bool { return c.RevokedAt == nil }

// ClientToken is one grant of access to a client: every client access
// token names its ClientToken (the "sid" claim), so revoking it, or the
// client, refuses the token at once. The refresh token that renews it is
// stored as a SHA-256; renewing replaces the old grant with the next of
// its chain, and presenting a replaced grant's refresh token again revokes
// the chain (reuse detection, as for users' refresh tokens).
type ClientToken struct {
	ID          string
	ClientID    string
	RefreshHash []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time // no refresh past it
	RevokedAt   *time.Time
}

// Live reports whether the grant may still be used at now.
func (t ClientToken) Live(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// KindClient marks an access token issued to an API client.
const KindClient TokenKind = "client"

// PasswordPolicy is a tenant's password policy, as stored. Zero values
// mean "the service's default" for lengths and "off" for the rest; see
// account.Service for how it combines with the baseline.
type PasswordPolicy struct {
	MinLength    int      `json:"min_length"`
	MaxLength    int      `json:"max_length"`
	Require      []string `json:"require"` // of "lower", "upper", "digit", "special"
	Specials     string   `json:"specials"`
	History      int      `json:"history"` // refuse the last N passwords; 0 is off
	RefuseCommon bool     `json:"refuse_common"`
	RefuseEmail  bool     `json:"refuse_email"`
	MinScore     int      `json:"min_score"` // zxcvbn 0-4; 0 is off
}

// AuditEvent is one append-only record of something that happened to an
// account: who did it (a user, an API client or the operator), to whom,
// what, when and from where. It never holds a secret.
type AuditEvent struct {
	ID        int64 // assigned by the store, increasing; the pagination cursor
	TenantID  string
	At        time.Time
	Action    string
	ActorType string // ActorUser, ActorClient, ActorOperator or ActorAnonymous
	ActorID   string
	TargetID  string // the user acted on, if any
	IP        string
	Details   map[string]string
}

// Actor types.
const (
	ActorUser      = "user"
	ActorClient    = "client"
	ActorOperator  = "operator" // the command line
	ActorAnonymous = "anonymous"
)

// Audit actions.
const (
	AuditPasswordSet    = "password.set"    // a first password
	AuditPasswordChange = "password.change" // the user changed their own
	AuditPasswordReset  = "password.reset"  // an administrator set it
	AuditLoginSuccess   = "login.success"
	// AuditLoginChangeRequired: the password was right, but an
	// administrator requires a new one first; the only session started
	// can do nothing but change the password.
	AuditLoginChangeRequired = "login.change_required"
	AuditLoginFailure        = "login.failure"
	AuditSessionRevoke       = "session.revoke"
	AuditClientCreate        = "client.create"
	AuditClientRevoke        = "client.revoke"
	AuditPolicyUpdate        = "policy.update"
	AuditUserCreate          = "user.create"
	// AuditIdentityLink: a provider identity was linked to an account
	// (by a verified email match, or claiming an unfinished sign-up).
	AuditIdentityLink = "identity.link"
	// AuditIdentityAttribute: identities stored before issuers were
	// recorded were bound to their provider's issuer.
	AuditIdentityAttribute = "identity.attribute"
	AuditUserUpdate        = "user.update"
	AuditUserDelete        = "user.delete"
	AuditTenantCreate      = "tenant.create"
)

// AuditQuery selects audit events, newest first. Empty fields do not
// filter; TenantID "" means every tenant.
type AuditQuery struct {
	TenantID string
	Action   string
	ActorID  string
	TargetID string
	Since    time.Time
	BeforeID int64 // events with a smaller ID only (the cursor); 0: from the newest
	Limit    int
}

// UserQuery selects a tenant's users in Number order.
type UserQuery struct {
	TenantID    string // required
	Email       string // exact, case-insensitive; "" does not filter
	AfterNumber int64  // the cursor: users with a larger Number only
	Limit       int
}

// UserUpdate changes some of a user's fields; nil leaves a field as is.
// Deactivating (Active false) also revokes every session of the user, in
// the same transaction.
type UserUpdate struct {
	ID        string
	FirstName *string
	LastName  *string
	Active    *bool
	Admin     *bool
	Verified  *bool
	At        time.Time
	Audit     *AuditEvent
}

// SessionRevocation revokes one session of a user, or all of them when
// SessionID is "".
type SessionRevocation struct {
	UserID    string
	SessionID string
	At        time.Time
	Audit     *AuditEvent
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the address a request came from, so
// that audit records name it without every use case taking it.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the address WithClientIP put in ctx, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
