package account_test

import (
	"context"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// adminOperations lists every operation with the scopes that may run it,
// written out here rather than derived from the table under test, and the
// use case it guards. A client of any other scope is refused.
var adminOperations = []struct {
	name    string
	op      account.AdminOperation
	allowed []latch.Scope
	run     func(ctx context.Context, s *account.Service, a account.Admin) error
}{
	{"list users", account.OpListUsers, []latch.Scope{latch.ScopeReadUsers, latch.ScopeManageUsers, latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.ListUsers(ctx, a, "", "", 0)
			return err
		}},
	{"get user", account.OpGetUser, []latch.Scope{latch.ScopeReadUsers, latch.ScopeManageUsers, latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.User(ctx, a, account.UserRef{Number: 999})
			return err
		}},
	{"user sessions", account.OpUserSessions, []latch.Scope{latch.ScopeReadUsers, latch.ScopeManageUsers, latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.UserSessions(ctx, a, account.UserRef{Number: 999})
			return err
		}},
	{"create user", account.OpCreateUser, []latch.Scope{latch.ScopeManageUsers, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			// No email: refused after the scope check, nothing created.
			_, err := s.AdminCreateUser(ctx, a, account.AdminCreateUserInput{})
			return err
		}},
	{"update user", account.OpUpdateUser, []latch.Scope{latch.ScopeManageUsers, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.AdminUpdateUser(ctx, a, account.UserRef{Number: 999}, account.AdminUserChange{})
			return err
		}},
	{"delete user", account.OpDeleteUser, []latch.Scope{latch.ScopeManageUsers, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			return s.AdminDeleteUser(ctx, a, account.UserRef{Number: 999})
		}},
	{"revoke sessions", account.OpRevokeSessions, []latch.Scope{latch.ScopeManageUsers, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.RevokeUserSessions(ctx, a, account.UserRef{Number: 999}, "")
			return err
		}},
	{"get policy", account.OpGetPolicy, []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.Policy(ctx, a)
			return err
		}},
	{"audit", account.OpAudit, []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.AuditEvents(ctx, a, latch.AuditQuery{Limit: 1})
			return err
		}},
	{"list clients", account.OpListClients, []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.Clients(ctx, a)
			return err
		}},
	{"list apps", account.OpListApps, []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.Apps(ctx, a, "", 1)
			return err
		}},
	{"get app", account.OpGetApp, []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.App(ctx, a, "no-such-app")
			return err
		}},
	{"create app", account.OpCreateApp, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			// No name: refused after the scope check, nothing created.
			_, err := s.CreateApp(ctx, a, account.AppInput{Type: latch.AppPublic})
			return err
		}},
	{"update app", account.OpUpdateApp, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.UpdateApp(ctx, a, "no-such-app", account.AppChange{})
			return err
		}},
	{"rotate app secret", account.OpRotateAppSecret, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.RotateAppSecret(ctx, a, "no-such-app")
			return err
		}},
	{"revoke app", account.OpRevokeApp, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			return s.RevokeApp(ctx, a, "no-such-app")
		}},
	{"set password", account.OpSetPassword, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			return s.AdminSetPassword(ctx, a, account.AdminSetPasswordInput{User: account.UserRef{Number: 999}})
		}},
	{"set policy", account.OpSetPolicy, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			bad := -1 // refused after the scope check: the policy stays
			_, err := s.SetPolicy(ctx, a, account.PolicyChange{MinLength: &bad})
			return err
		}},
	{"get factor policy", account.OpGetFactorPolicy, []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			_, err := s.FactorPolicy(ctx, a)
			return err
		}},
	{"set factor policy", account.OpSetFactorPolicy, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			bad := []string{"sms"} // refused after the scope check: the policy stays
			_, err := s.SetFactorPolicy(ctx, a, account.FactorPolicyChange{Allowed: &bad})
			return err
		}},
	{"reset factors", account.OpResetFactors, []latch.Scope{latch.ScopeManageAll},
		func(ctx context.Context, s *account.Service, a account.Admin) error {
			return s.AdminResetFactors(ctx, a, account.UserRef{Number: 999})
		}},
}

// TestAdminOperationPermissions: each administrative operation is allowed
// to exactly the scopes that hold its permission (reading users is the
// least; setting a password or the policy needs Manage All), the operator
// may do everything, and the use case itself refuses exactly what
// Authorize refuses, with the same error: a surface that asks Authorize
// before reading a body answers what the use case would have.
func TestAdminOperationPermissions(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	for _, c := range adminOperations {
		if err := account.Operator("").Authorize(c.op); err != nil {
			t.Errorf("%s: the operator is refused: %v", c.name, err)
		}
		for _, scope := range latch.Scopes() {
			a := account.Admin{Client: &latch.Client{ID: "c1", TenantID: latch.DefaultTenantID, Scope: scope}, TenantID: latch.DefaultTenantID}
			allowed := false
			for _, s := range c.allowed {
				allowed = allowed || s == scope
			}
			authErr := a.Authorize(c.op)
			if (authErr == nil) != allowed {
				t.Errorf("%s with %q: Authorize = %v, want allowed=%v", c.name, scope, authErr, allowed)
			}
			if authErr != nil {
				if le := latch.AsError(authErr); le.Kind != latch.KindForbidden || le.Code != latch.CodeInsufficientScope {
					t.Errorf("%s with %q: Authorize refused with %v, want Forbidden insufficient_scope", c.name, scope, authErr)
				}
			}
			useErr := c.run(ctx, h.Accounts, a)
			if refused := latch.IsCode(useErr, latch.CodeInsufficientScope); refused != (authErr != nil) {
				t.Errorf("%s with %q: the use case answered %v, Authorize %v", c.name, scope, useErr, authErr)
			}
		}
	}
}

// TestUnknownAdminOperationNeedsEverything: an operation the table does
// not list fails closed, allowed to Manage All clients (and the operator)
// only.
func TestUnknownAdminOperationNeedsEverything(t *testing.T) {
	unknown := account.AdminOperation(1000)
	for _, scope := range latch.Scopes() {
		err := account.Admin{Client: &latch.Client{Scope: scope}}.Authorize(unknown)
		if (err == nil) != (scope == latch.ScopeManageAll) {
			t.Errorf("%q: Authorize(unknown) = %v", scope, err)
		}
	}
	if err := account.Operator("").Authorize(unknown); err != nil {
		t.Errorf("operator: %v", err)
	}
}
