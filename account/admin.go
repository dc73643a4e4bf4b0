package account

import (
	"context"
	"strconv"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// UserRef names a user by UUID or by number (seed 001).
type UserRef struct {
	ID     string
	Number int64
}

// adminUser finds the user r names and checks that it is in a's tenant.
func (s *Service) adminUser(ctx context.Context, a Admin, r UserRef) (latch.User, error) {
	var u latch.User
	var err error
	if r.ID != "" {
		u, err = s.store.UserByID(ctx, r.ID)
	} else {
		u, err = s.store.UserByNumber(ctx, r.Number)
	}
	if err != nil {
		return latch.User{}, err
	}
	if a.TenantID != "" && u.TenantID != a.TenantID {
		return latch.User{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeOtherTenant, Message: "the user belongs to another tenant"}
	}
	return u, nil
}

// AdminSetPasswordInput is an administrator's request to set a user's
// password (seed 001, and the native admin API). A nil field was not sent.
type AdminSetPasswordInput struct {
	User         UserRef
	Password     *string
	Confirmation *string
	// ValidatePolicy applies the tenant's whole policy, history included;
	// otherwise only the hard limits apply (not empty, not too long).
	ValidatePolicy bool
	// ChangeAtNextLogin makes the next sign-in ask for a new password
	// before it gives a session.
	ChangeAtNextLogin bool
}

// AdminSetPassword sets a user's password for an administrator. Every
// session of the user is revoked, whether or not a password existed: the
// administrator's client holds no session of the user to keep, and the
// user did not choose this password. The new password works at once.
func (s *Service) AdminSetPassword(ctx context.Context, a Admin, in AdminSetPasswordInput) error {
	if err := a.Authorize(OpSetPassword); err != nil {
		return err
	}
	var user latch.User
	var pol latch.PasswordPolicy
	steps := map[passwordCheck]passwordStep{
		stepUser: func(np *newPassword, _ string) ([]latch.Error, error) {
			var err error
			if user, err = s.adminUser(ctx, a, in.User); err != nil {
				return nil, err
			}
			if err := a.mayActOn(user); err != nil {
				return nil, err
			}
			np.Email = user.Email
			if !in.ValidatePolicy {
				return nil, nil // only the hard limits apply
			}
			return s.loadPolicy(ctx, user.TenantID, &pol)(np, "")
		},
	}
	if in.ValidatePolicy {
		steps[stepHistory] = func(_ *newPassword, pw string) ([]latch.Error, error) {
			return s.checkHistory(ctx, user, pw, pol)
		}
	}
	pw, err := checkNewPassword(newPassword{
		Password: deref(in.Password), Confirmation: in.Confirmation, MaxLength: s.cfg.Policy.MaxLength,
	}, orderAdmin, steps)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return latch.AsError(err)
	}
	ev := s.auditEvent(ctx, a, latch.AuditPasswordReset, user.TenantID, user.ID)
	ev.Details = map[string]string{"validate_policy": strconv.FormatBool(in.ValidatePolicy)}
	if in.ChangeAtNextLogin {
		ev.Details["change_at_next_login"] = "true"
	}
	return s.changePassword(ctx, user, latch.PasswordChange{
		UserID: user.ID, NewHash: hash, Overwrite: true, MustChange: in.ChangeAtNextLogin, At: s.now(), Audit: &ev,
	})
}

// UserPage is one page of a user listing; Next is the cursor of the next
// page, "" on the last.
type UserPage struct {
	Users []latch.User
	Next  string
}

// maxPage bounds a listing page.
const maxPage = 200

// ListUsers lists the users of the admin's tenant in creation order,
// optionally only the one with email. cursor is a page's Next.
func (s *Service) ListUsers(ctx context.Context, a Admin, email, cursor string, limit int) (UserPage, error) {
	if err := a.Authorize(OpListUsers); err != nil {
		return UserPage{}, err
	}
	if limit <= 0 || limit > maxPage {
		limit = 50
	}
	var after int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return UserPage{}, latch.FieldError("cursor", latch.CodeInvalidRequest, "the cursor is not one this API returned")
		}
		after = n
	}
	users, err := s.store.ListUsers(ctx, latch.UserQuery{TenantID: a.tenant(), Email: strings.TrimSpace(email), AfterNumber: after, Limit: limit + 1})
	if err != nil {
		return UserPage{}, err
	}
	page := UserPage{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		page.Next = strconv.FormatInt(page.Users[limit-1].Number, 10)
	}
	return page, nil
}

// User returns one user of the admin's tenant.
func (s *Service) User(ctx context.Context, a Admin, r UserRef) (latch.User, error) {
	if err := a.Authorize(OpGetUser); err != nil {
		return latch.User{}, err
	}
	return s.adminUser(ctx, a, r)
}

// AdminCreateUserInput is an administrator's new user. At most one of
// Password (checked against the tenant's policy) and PasswordHash (an
// imported hash from another system) may be given.
type AdminCreateUserInput struct {
	Email             string
	FirstName         string
	LastName          string
	Admin             bool
	Verified          bool
	Password          string
	PasswordHash      string
	ChangeAtNextLogin bool
	TenantID          string // the operator's choice; a client creates in its own tenant
}

// AdminCreateUser creates a user in the admin's tenant.
func (s *Service) AdminCreateUser(ctx context.Context, a Admin, in AdminCreateUserInput) (latch.User, error) {
	if err := a.Authorize(OpCreateUser); err != nil {
		return latch.User{}, err
	}
	if in.Admin && a.Client != nil && !a.Client.Super {
		return latch.User{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAdminTarget, Message: "only a super client may create an administrator"}
	}
	tenantID := a.TenantID
	if tenantID == "" {
		tenantID = in.TenantID
	}
	if tenantID == "" {
		tenantID = latch.DefaultTenantID
	}
	email, err := parseEmail(in.Email)
	if err != nil {
		return latch.User{}, err
	}
	first, last, err := cleanNames(in.FirstName, in.LastName)
	if err != nil {
		return latch.User{}, err
	}
	if (in.Password != "" || in.PasswordHash != "") && a.Client != nil && !a.Client.Scope.Grants(latch.PermManageAll) {
		// Choosing a user's password is setting it: Manage All only, as
		// for AdminSetPassword.
		return latch.User{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "only a Manage All client may give a new user a password"}
	}
	if in.Password != "" && in.PasswordHash != "" {
		return latch.User{}, latch.FieldError("password_hash", latch.CodeInvalidRequest, "give a password or a password hash, not both")
	}
	now := s.now()
	id, err := newID()
	if err != nil {
		return latch.User{}, latch.Internal(err)
	}
	nu := latch.NewUser{User: latch.User{
		ID: id, TenantID: tenantID, Email: email, FirstName: first, LastName: last,
		Verified: in.Verified, Active: true, Admin: in.Admin, CreatedAt: now, UpdatedAt: now,
	}}
	switch {
	case in.PasswordHash != "":
		if err := password.CheckImport(in.PasswordHash); err != nil {
			return latch.User{}, err
		}
		nu.PasswordHash = in.PasswordHash
		// Before it is stored: nobody can time a wrong password against
		// it before the floor covers it.
		s.observeHash(in.PasswordHash)
	case in.Password != "":
		pw, err := s.checkUserPassword(ctx, nu.User, in.Password, orderAdminCreate)
		if err != nil {
			return latch.User{}, err
		}
		if nu.PasswordHash, err = s.hasher.Hash(ctx, pw); err != nil {
			return latch.User{}, latch.AsError(err)
		}
	}
	nu.MustChangePassword = in.ChangeAtNextLogin && nu.PasswordHash != ""
	ev := s.auditEvent(ctx, a, latch.AuditUserCreate, tenantID, id)
	ev.Details = map[string]string{"email": email}
	if in.PasswordHash != "" {
		ev.Details["password"] = "imported"
	} else if in.Password != "" {
		ev.Details["password"] = "set"
	}
	nu.Audit = &ev
	return s.store.CreateUser(ctx, nu)
}

// AdminUserChange is an administrator's change to a user; nil fields stay.
type AdminUserChange struct {
	FirstName *string
	LastName  *string
	Active    *bool
	Admin     *bool
	Verified  *bool
}

// AdminUpdateUser changes a user. Deactivating a user ends every session:
// its tokens stop working at once, and reactivating does not revive them.
// A change of nothing changes nothing and records nothing.
func (s *Service) AdminUpdateUser(ctx context.Context, a Admin, r UserRef, ch AdminUserChange) (latch.User, error) {
	if err := a.Authorize(OpUpdateUser); err != nil {
		return latch.User{}, err
	}
	user, err := s.adminUser(ctx, a, r)
	if err != nil {
		return latch.User{}, err
	}
	if err := a.mayActOn(user); err != nil {
		return latch.User{}, err
	}
	if ch.Admin != nil && *ch.Admin && a.Client != nil && !a.Client.Super {
		return latch.User{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAdminTarget, Message: "only a super client may make an administrator"}
	}
	if ch == (AdminUserChange{}) {
		return user, nil
	}
	clean := func(field string, p *string) (*string, error) {
		if p == nil {
			return nil, nil
		}
		v, err := cleanName(field, *p)
		return &v, err
	}
	firstName, err := clean("first_name", ch.FirstName)
	if err != nil {
		return latch.User{}, err
	}
	lastName, err := clean("last_name", ch.LastName)
	if err != nil {
		return latch.User{}, err
	}
	ev := s.auditEvent(ctx, a, latch.AuditUserUpdate, user.TenantID, user.ID)
	ev.Details = map[string]string{}
	for name, v := range map[string]*bool{"active": ch.Active, "admin": ch.Admin, "verified": ch.Verified} {
		if v != nil {
			ev.Details[name] = strconv.FormatBool(*v)
		}
	}
	if ch.FirstName != nil || ch.LastName != nil {
		ev.Details["name"] = "changed"
	}
	if ch.Active != nil && !*ch.Active {
		ev.Details["sessions"] = "revoked"
	}
	// Deactivating revokes the sessions in the same transaction.
	updated, err := s.store.UpdateUser(ctx, latch.UserUpdate{
		ID: user.ID, FirstName: firstName, LastName: lastName,
		Active: ch.Active, Admin: ch.Admin, Verified: ch.Verified, At: s.now(), Audit: &ev,
	})
	// Even after an error: a timeout may hide a commit, and forgetting
	// costs only a store read.
	s.sessions.forgetUser(user.ID)
	return updated, err
}

// AdminDeleteUser deletes a user and everything that is theirs; the audit
// log keeps what happened to them.
func (s *Service) AdminDeleteUser(ctx context.Context, a Admin, r UserRef) error {
	if err := a.Authorize(OpDeleteUser); err != nil {
		return err
	}
	user, err := s.adminUser(ctx, a, r)
	if err != nil {
		return err
	}
	if err := a.mayActOn(user); err != nil {
		return err
	}
	ev := s.auditEvent(ctx, a, latch.AuditUserDelete, user.TenantID, user.ID)
	ev.Details = map[string]string{"email": user.Email}
	err = s.store.DeleteUser(ctx, user.ID, &ev)
	s.sessions.forgetUser(user.ID)
	return err
}

// UserSessions lists a user's live sessions.
func (s *Service) UserSessions(ctx context.Context, a Admin, r UserRef) ([]latch.Session, error) {
	if err := a.Authorize(OpUserSessions); err != nil {
		return nil, err
	}
	user, err := s.adminUser(ctx, a, r)
	if err != nil {
		return nil, err
	}
	return s.store.SessionsByUser(ctx, user.ID, s.now())
}

// RevokeUserSessions revokes one of a user's sessions, or all of them
// when sessionID is "", and returns how many it revoked.
func (s *Service) RevokeUserSessions(ctx context.Context, a Admin, r UserRef, sessionID string) (int, error) {
	if err := a.Authorize(OpRevokeSessions); err != nil {
		return 0, err
	}
	user, err := s.adminUser(ctx, a, r)
	if err != nil {
		return 0, err
	}
	if err := a.mayActOn(user); err != nil {
		return 0, err
	}
	ev := s.auditEvent(ctx, a, latch.AuditSessionRevoke, user.TenantID, user.ID)
	if sessionID != "" {
		ev.Details = map[string]string{"session_id": sessionID}
	} else {
		ev.Details = map[string]string{"session_id": "all"}
	}
	n, err := s.store.RevokeSessions(ctx, latch.SessionRevocation{UserID: user.ID, SessionID: sessionID, At: s.now(), Audit: &ev})
	s.sessions.forgetUser(user.ID)
	if n > 0 {
		s.cfg.Observer.SessionsRevoked(RevokedAdmin, n)
	}
	return n, err
}
