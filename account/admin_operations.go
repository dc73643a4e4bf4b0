package account

import "github.com/latchid/latch"

// AdminOperation is one thing the administration use cases do. Which
// permission each needs is decided here, once: the use cases check it, and
// a surface that wants to refuse a client before reading its request body
// asks Admin.Authorize with the operation it is about to run, never with a
// permission of its own choosing.
type AdminOperation int

// The operations, each named after its use case.
const (
	OpListUsers       AdminOperation = iota + 1 // ListUsers
	OpGetUser                                   // User
	OpCreateUser                                // AdminCreateUser
	OpUpdateUser                                // AdminUpdateUser
	OpDeleteUser                                // AdminDeleteUser
	OpSetPassword                               // AdminSetPassword
	OpUserSessions                              // UserSessions
	OpRevokeSessions                            // RevokeUserSessions
	OpGetPolicy                                 // Policy
	OpSetPolicy                                 // SetPolicy
	OpAudit                                     // AuditEvents
	OpListClients                               // Clients
	OpListApps                                  // Apps
	OpGetApp                                    // App
	OpCreateApp                                 // CreateApp
	OpUpdateApp                                 // UpdateApp
	OpRotateAppSecret                           // RotateAppSecret
	OpRevokeApp                                 // RevokeApp
	OpResetFactors                              // AdminResetFactors
	OpGetFactorPolicy                           // FactorPolicy
	OpSetFactorPolicy                           // SetFactorPolicy
)

// permission is what op needs. Reading users and their sessions is the
// least; setting a password or the policy needs everything (seed 001:
// "This API can be called using the Manage All scope only").
func (op AdminOperation) permission() latch.Permission {
	switch op {
	case OpListUsers, OpGetUser, OpUserSessions:
		return latch.PermReadUsers
	case OpCreateUser, OpUpdateUser, OpDeleteUser, OpRevokeSessions:
		return latch.PermManageUsers
	case OpGetPolicy, OpGetFactorPolicy, OpAudit, OpListClients, OpListApps, OpGetApp:
		return latch.PermReadAll
	case OpSetPassword, OpSetPolicy, OpSetFactorPolicy, OpResetFactors, OpCreateApp, OpUpdateApp, OpRotateAppSecret, OpRevokeApp:
		return latch.PermManageAll
	}
	// An operation missing above needs everything: a new one fails closed
	// until it is given its place.
	return latch.PermManageAll
}

// Authorize refuses an admin whose scope does not allow op; the operator
// (no client) may do everything. Surfaces call it before reading a request
// body, and every use case checks it again.
func (a Admin) Authorize(op AdminOperation) error {
	if a.Client == nil || a.Client.Scope.Grants(op.permission()) {
		return nil
	}
	return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "the client's scope (" + string(a.Client.Scope) + ") does not allow this"}
}
