package account

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchid/latch"
)

// CreateUserInput describes an account made by an operator (or, later, by a
// sign-in). With Provider set, the account gets a linked identity and no
// password, exactly as an OAuth sign-in creates it.
type CreateUserInput struct {
	Email     string
	FirstName string
	LastName  string
	Admin     bool
	Verified  bool
	Provider  latch.Provider
	Issuer    string // the identity's issuer (required with Provider)
	Subject   string
	Password  string // optional; checked against the policy
	TenantID  string
}

// CreateUser creates an account for the operator (the command line and
// tests); the audit log names the operator as its author.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (latch.User, error) {
	email, err := parseEmail(in.Email)
	if err != nil {
		return latch.User{}, err
	}
	first, last, err := cleanNames(in.FirstName, in.LastName)
	if err != nil {
		return latch.User{}, err
	}
	now := s.now()
	id, err := newID()
	if err != nil {
		return latch.User{}, latch.Internal(err)
	}
	nu := latch.NewUser{User: latch.User{
		ID: id, TenantID: cmp.Or(in.TenantID, latch.DefaultTenantID), Email: email, FirstName: first, LastName: last,
		Verified: in.Verified, Active: true, Admin: in.Admin, CreatedAt: now, UpdatedAt: now,
	}}
	if in.Provider != "" {
		if strings.TrimSpace(in.Subject) == "" {
			return latch.User{}, latch.FieldError("subject", latch.CodeRequired, "a linked identity needs the provider's subject")
		}
		identityID, err := newID()
		if err != nil {
			return latch.User{}, latch.Internal(err)
		}
		nu.Identity = &latch.Identity{ID: identityID, Provider: in.Provider, Issuer: in.Issuer, Subject: in.Subject, Email: email, CreatedAt: now}
		// As an OAuth sign-in would show it: verified, but on the
		// operator's word, which proves nothing about the person.
		nu.User.Verified = true
	}
	if in.Password != "" {
		pw, err := s.checkUserPassword(ctx, nu.User, in.Password, orderOperator)
		if err != nil {
			return latch.User{}, err
		}
		if nu.PasswordHash, err = s.hasher.Hash(ctx, pw); err != nil {
			return latch.User{}, latch.AsError(err)
		}
	}
	ev := s.auditEvent(ctx, Operator(""), latch.AuditUserCreate, nu.User.TenantID, id)
	ev.Details = map[string]string{"email": email}
	nu.Audit = &ev
	return s.store.CreateUser(ctx, nu)
}

// maxNameLength bounds first and last names, in characters.
const maxNameLength = 100

// cleanName trims a person's name and refuses what no name holds: control
// characters (NUL among them), invalid UTF-8, or more than maxNameLength
// characters.
func cleanName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLength ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", latch.FieldError(field, latch.CodeInvalidRequest, fmt.Sprintf("The %s must be at most %d characters, without control characters.", strings.ReplaceAll(field, "_", " "), maxNameLength))
	}
	return name, nil
}

// cleanNames cleans a first and a last name.
func cleanNames(first, last string) (string, string, error) {
	first, err := cleanName("first_name", first)
	if err != nil {
		return "", "", err
	}
	last, err = cleanName("last_name", last)
	return first, last, err
}

// parseEmail returns the canonical form of an address (latch.CanonicalEmail):
// the one Latch stores, looks up, limits by and sends mail to. Anything
// else gets one invalid-email error, whatever rule it broke.
func parseEmail(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", latch.FieldError("email", latch.CodeRequired, "The email field is required.")
	}
	email, err := latch.CanonicalEmail(raw)
	if err != nil {
		return "", latch.FieldError("email", latch.CodeInvalidEmail, "The email field must be a valid email address.")
	}
	return email, nil
}

// Me returns the caller's account: any token that acts for a user and
// carries user:read.
func (s *Service) Me(p Principal) (latch.User, error) {
	if err := AuthorizeUser(p, latch.ScopeUserRead); err != nil {
		return latch.User{}, err
	}
	return p.User, nil
}

// UserByEmail finds an account by email, case-insensitively.
func (s *Service) UserByEmail(ctx context.Context, email string) (latch.User, error) {
	return s.store.UserByEmail(ctx, email)
}

// Identities lists the outside identities linked to a user.
func (s *Service) Identities(ctx context.Context, userID string) ([]latch.Identity, error) {
	return s.store.IdentitiesByUser(ctx, userID)
}

// HasPassword reports whether the user has a password.
func (s *Service) HasPassword(ctx context.Context, userID string) (bool, error) {
	_, err := s.store.Credential(ctx, userID)
	if latch.IsKind(err, latch.KindNotFound) {
		return false, nil
	}
	return err == nil, err
}

// IssueTokenInput asks for an access token for a user without a sign-in
// (operator CLI): a session token, a personal access token or a project
// token.
type IssueTokenInput struct {
	Email  string
	Kind   latch.TokenKind
	Scopes []string
	TTL    time.Duration // 0: the access-token TTL for sessions, 30 days otherwise
}

// IssueToken starts a session of the given kind and returns its access
// token (and, for a session kind, a refresh token).
func (s *Service) IssueToken(ctx context.Context, in IssueTokenInput) (TokenPair, error) {
	user, err := s.store.UserByEmail(ctx, in.Email)
	if err != nil {
		return TokenPair{}, err
	}
	if !user.Active {
		return TokenPair{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAccountInactive, Message: "this account is deactivated"}
	}
	kind := in.Kind
	if kind == "" {
		kind = latch.KindSession
	}
	if kind == latch.KindClient {
		return TokenPair{}, latch.FieldError("kind", latch.CodeInvalidRequest, "client tokens are issued to API clients (client_credentials), not to users")
	}
	if kind == latch.KindApp {
		return TokenPair{}, latch.FieldError("kind", latch.CodeInvalidRequest, "an app's grant is made by the app's sign-in (authorization code), not issued")
	}
	scopes := in.Scopes
	ttl := in.TTL
	switch kind {
	case latch.KindSession:
		if len(scopes) == 0 {
			scopes = latch.SessionScopes()
		}
		if ttl <= 0 {
			ttl = s.cfg.SessionTTL
		}
	default:
		if ttl <= 0 {
			ttl = 30 * 24 * time.Hour
		}
	}
	return s.startSession(ctx, user, kind, scopes, ttl, kind == latch.KindSession, "", nil, nil)
}
