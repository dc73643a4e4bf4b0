package native

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// registerAdmin adds the administration API: API clients' tokens only,
// each route checked against the client's scope for its operation before
// its body is read (which permission an operation needs is the use
// cases' rule: account.Admin.Authorize).
func (s *Surface) registerAdmin(mux httpx.Mux) {
	route := func(pattern string, op account.AdminOperation, h func(w http.ResponseWriter, r *http.Request, a account.Admin) error) {
		mux.Handle(pattern, s.problems.Handle(func(w http.ResponseWriter, r *http.Request) error {
			raw, err := httpx.BearerToken(r)
			if err != nil {
				return err
			}
			a, err := s.accounts.AuthenticateClient(r.Context(), raw)
			if err != nil {
				return err
			}
			if err := a.Authorize(op); err != nil {
				return err
			}
			return h(w, r, a)
		}))
	}
	route("GET /v1/admin/users", account.OpListUsers, s.adminListUsers)
	route("POST /v1/admin/users", account.OpCreateUser, s.adminCreateUser)
	route("GET /v1/admin/users/{id}", account.OpGetUser, s.adminGetUser)
	route("PATCH /v1/admin/users/{id}", account.OpUpdateUser, s.adminUpdateUser)
	route("DELETE /v1/admin/users/{id}", account.OpDeleteUser, s.adminDeleteUser)
	route("PUT /v1/admin/users/{id}/password", account.OpSetPassword, s.adminSetPassword)
	route("GET /v1/admin/users/{id}/sessions", account.OpUserSessions, s.adminSessions)
	route("DELETE /v1/admin/users/{id}/sessions", account.OpRevokeSessions, s.adminRevokeSessions)
	route("DELETE /v1/admin/users/{id}/sessions/{sid}", account.OpRevokeSessions, s.adminRevokeSessions)
	route("GET /v1/admin/policy", account.OpGetPolicy, s.adminGetPolicy)
	route("PUT /v1/admin/policy", account.OpSetPolicy, s.adminSetPolicy)
	route("GET /v1/admin/policy/factors", account.OpGetFactorPolicy, s.adminGetFactorPolicy)
	route("PUT /v1/admin/policy/factors", account.OpSetFactorPolicy, s.adminSetFactorPolicy)
	route("DELETE /v1/admin/users/{id}/factors", account.OpResetFactors, s.adminResetFactors)
	route("GET /v1/admin/audit", account.OpAudit, s.adminAudit)
	s.registerApps(route)
}

// userRef reads {id}: a UUID, or a user's number.
func userRef(r *http.Request) (account.UserRef, error) {
	id := r.PathValue("id")
	if id != "" && strings.Trim(id, "0123456789") == "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return account.UserRef{}, latch.FieldError("id", latch.CodeInvalidRequest, "the user id must be a UUID or a positive number")
		}
		return account.UserRef{Number: n}, nil
	}
	return account.UserRef{ID: id}, nil
}

func (s *Surface) adminListUsers(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return latch.FieldError("limit", latch.CodeInvalidRequest, "limit must be between 1 and 200")
		}
		limit = n
	}
	page, err := s.accounts.ListUsers(r.Context(), a, q.Get("email"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := struct {
		Users      []User `json:"users"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{Users: []User{}, NextCursor: page.Next}
	for _, u := range page.Users {
		out.Users = append(out.Users, userOf(u))
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

func (s *Surface) adminGetUser(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	u, err := s.accounts.User(r.Context(), a, ref)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", userOf(u))
	return nil
}

type createUserRequest struct {
	Email             string `json:"email"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
	Admin             bool   `json:"admin"`
	EmailVerified     bool   `json:"email_verified"`
	Password          string `json:"password"`
	PasswordHash      string `json:"password_hash"`
	ChangeAtNextLogin bool   `json:"change_at_next_login"`
}

func (s *Surface) adminCreateUser(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	var req createUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.accounts.AdminCreateUser(httpx.Context(r), a, account.AdminCreateUserInput{
		Email: req.Email, FirstName: req.FirstName, LastName: req.LastName, Admin: req.Admin, Verified: req.EmailVerified,
		Password: req.Password, PasswordHash: req.PasswordHash, ChangeAtNextLogin: req.ChangeAtNextLogin,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/admin/users/"+u.ID)
	httpx.WriteJSON(w, http.StatusCreated, "application/json", userOf(u))
	return nil
}

type updateUserRequest struct {
	FirstName     *string `json:"first_name"`
	LastName      *string `json:"last_name"`
	Active        *bool   `json:"active"`
	Admin         *bool   `json:"admin"`
	EmailVerified *bool   `json:"email_verified"`
}

func (s *Surface) adminUpdateUser(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.accounts.AdminUpdateUser(httpx.Context(r), a, ref, account.AdminUserChange{
		FirstName: req.FirstName, LastName: req.LastName, Active: req.Active, Admin: req.Admin, Verified: req.EmailVerified,
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", userOf(u))
	return nil
}

func (s *Surface) adminDeleteUser(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	if err := s.accounts.AdminDeleteUser(httpx.Context(r), a, ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type adminSetPasswordRequest struct {
	Password             *string `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
	// ValidatePolicy defaults to true here (seed 001 defaults to false).
	ValidatePolicy    *bool `json:"validate_policy"`
	ChangeAtNextLogin bool  `json:"change_at_next_login"`
}

func (s *Surface) adminSetPassword(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	var req adminSetPasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	err = s.accounts.AdminSetPassword(httpx.Context(r), a, account.AdminSetPasswordInput{
		User: ref, Password: req.Password, Confirmation: req.PasswordConfirmation,
		ValidatePolicy: req.ValidatePolicy == nil || *req.ValidatePolicy, ChangeAtNextLogin: req.ChangeAtNextLogin,
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Session is the native representation of a session.
type Session struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Surface) adminSessions(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	sessions, err := s.accounts.UserSessions(r.Context(), a, ref)
	if err != nil {
		return err
	}
	out := struct {
		Sessions []Session `json:"sessions"`
	}{Sessions: []Session{}}
	for _, se := range sessions {
		out.Sessions = append(out.Sessions, Session{ID: se.ID, Kind: string(se.Kind), Scopes: se.Scopes, CreatedAt: se.CreatedAt, ExpiresAt: se.ExpiresAt})
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

func (s *Surface) adminRevokeSessions(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	sid := r.PathValue("sid")
	n, err := s.accounts.RevokeUserSessions(httpx.Context(r), a, ref, sid)
	if err != nil {
		return err
	}
	if sid != "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", map[string]int{"revoked": n})
	return nil
}

// Policy is the native representation of a password policy.
type Policy struct {
	MinLength    int      `json:"min_length"`
	MaxLength    int      `json:"max_length"`
	Require      []string `json:"require"`
	Specials     string   `json:"specials"`
	History      int      `json:"history"`
	RefuseCommon bool     `json:"refuse_common"`
	RefuseEmail  bool     `json:"refuse_email"`
	MinScore     int      `json:"min_score"`
}

func policyOf(p latch.PasswordPolicy) Policy {
	out := Policy(p)
	if out.Require == nil {
		out.Require = []string{}
	}
	return out
}

func (s *Surface) adminGetPolicy(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	p, err := s.accounts.Policy(r.Context(), a)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", policyOf(p))
	return nil
}

type policyRequest struct {
	MinLength    *int      `json:"min_length"`
	MaxLength    *int      `json:"max_length"`
	Require      *[]string `json:"require"`
	Specials     *string   `json:"specials"`
	History      *int      `json:"history"`
	RefuseCommon *bool     `json:"refuse_common"`
	RefuseEmail  *bool     `json:"refuse_email"`
	MinScore     *int      `json:"min_score"`
}

// adminSetPolicy is PUT /v1/admin/policy: the fields sent change, the
// others stay as they are.
func (s *Surface) adminSetPolicy(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	var req policyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, err := s.accounts.SetPolicy(httpx.Context(r), a, account.PolicyChange(req))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", policyOf(p))
	return nil
}

// FactorPolicy is the native representation of a tenant's second-factor
// policy.
type FactorPolicy struct {
	Required bool     `json:"required"`
	Allowed  []string `json:"allowed"`
}

func factorPolicyOf(p latch.FactorPolicy) FactorPolicy {
	out := FactorPolicy{Required: p.Required, Allowed: []string{}}
	for _, k := range p.Allowed {
		out.Allowed = append(out.Allowed, string(k))
	}
	return out
}

func (s *Surface) adminGetFactorPolicy(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	p, err := s.accounts.FactorPolicy(r.Context(), a)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", factorPolicyOf(p))
	return nil
}

type factorPolicyRequest struct {
	Required *bool     `json:"required"`
	Allowed  *[]string `json:"allowed"`
}

// adminSetFactorPolicy is PUT /v1/admin/policy/factors: the fields sent
// change, the others stay as they are.
func (s *Surface) adminSetFactorPolicy(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	var req factorPolicyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, err := s.accounts.SetFactorPolicy(httpx.Context(r), a, account.FactorPolicyChange(req))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", factorPolicyOf(p))
	return nil
}

// adminResetFactors is DELETE /v1/admin/users/{id}/factors: every second
// factor and recovery code of the user goes; the user is told by email.
func (s *Surface) adminResetFactors(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	ref, err := userRef(r)
	if err != nil {
		return err
	}
	if err := s.accounts.AdminResetFactors(httpx.Context(r), a, ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AuditEvent is the native representation of an audit record.
type AuditEvent struct {
	ID        int64             `json:"id"`
	At        time.Time         `json:"at"`
	Action    string            `json:"action"`
	ActorType string            `json:"actor_type"`
	ActorID   string            `json:"actor_id,omitempty"`
	TargetID  string            `json:"target_id,omitempty"`
	IP        string            `json:"ip,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
}

func (s *Surface) adminAudit(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	v := r.URL.Query()
	q := latch.AuditQuery{Action: v.Get("action"), ActorID: v.Get("actor"), TargetID: v.Get("target"), Limit: 50}
	if c := v.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return latch.FieldError("cursor", latch.CodeInvalidRequest, "the cursor is not one this API returned")
		}
		q.BeforeID = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return latch.FieldError("limit", latch.CodeInvalidRequest, "limit must be between 1 and 200")
		}
		q.Limit = n
	}
	if since := v.Get("since"); since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return latch.FieldError("since", latch.CodeInvalidRequest, "since must be an RFC 3339 time")
		}
		q.Since = t
	}
	events, err := s.accounts.AuditEvents(r.Context(), a, q)
	if err != nil {
		return err
	}
	out := struct {
		Events     []AuditEvent `json:"events"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Events: []AuditEvent{}}
	for _, e := range events {
		out.Events = append(out.Events, AuditEvent{ID: e.ID, At: e.At, Action: e.Action, ActorType: e.ActorType, ActorID: e.ActorID, TargetID: e.TargetID, IP: e.IP, Details: e.Details})
	}
	if len(events) == q.Limit {
		out.NextCursor = strconv.FormatInt(events[len(events)-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

// decodeJSON insists on a JSON body.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if !httpx.IsJSONContentType(r) {
		return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeUnsupportedContentType, Message: "send application/json"}
	}
	return httpx.DecodeJSON(w, r, dst)
}

type ownPasswordRequest struct {
	Password             string  `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
	CurrentPassword      *string `json:"current_password"`
}

// setOwnPassword is PUT /v1/me/password: a user sets or changes their
// password, or finishes a change an administrator required (with the
// token a sign-in answered password_change_required with).
func (s *Surface) setOwnPassword(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var req ownPasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	err = s.accounts.SetOwnPassword(httpx.Context(r), p, account.SetOwnPasswordInput{
		Password: req.Password, Confirmation: req.PasswordConfirmation, CurrentPassword: req.CurrentPassword,
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
