package contract

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch"
)

// The page size of ListUsers and AuditEvents when the caller gives none,
// and the most either returns at once.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Limit returns the number of rows a listing returns for a requested limit.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Text reports whether s is text both backends keep and compare alike:
// Postgres refuses a NUL byte or invalid UTF-8 in a text value with an
// error, where SQLite would store it or simply match nothing.
func Text(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// sanitize makes s Text, replacing what is not with U+FFFD (as
// encoding/json does with invalid UTF-8).
func sanitize(s string) string {
	if Text(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// ClientID reports whether id can name a client: a client id is opaque,
// but not empty and Text.
func ClientID(id string) bool { return id != "" && Text(id) }

// NameTaken is CreateTenant's error for a duplicate name.
func NameTaken() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeNameTaken, Message: "name already taken"}
}

// Tenant returns t in the form the backends store: the id canonical
// (generated if empty), the number left to the database, the time
// truncated and defaulted.
func Tenant(t latch.Tenant, now func() time.Time) (latch.Tenant, error) {
	if t.ID == "" {
		id, err := NewID()
		if err != nil {
			return t, err
		}
		t.ID = id
	} else if id, ok := ID(t.ID); ok {
		t.ID = id
	} else {
		return t, Invalid("id", "tenant id must be a UUID")
	}
	if t.Name == "" || !Text(t.Name) {
		return t, Invalid("name", "a tenant needs a name, in UTF-8 text")
	}
	t.Number = 0 // assigned by the database
	t.CreatedAt = Or(t.CreatedAt, now)
	return t, nil
}

// TenantFilter canonicalises the tenant id a listing filters on: "" stays
// "" (every tenant, where the listing allows it); a malformed id is
// Invalid, since it is the caller's mistake rather than an empty tenant.
func TenantFilter(id string) (string, error) {
	if id == "" {
		return "", nil
	}
	canon, ok := ID(id)
	if !ok {
		return "", Invalid("tenant_id", "tenant id must be a UUID")
	}
	return canon, nil
}

// Client returns c in the form the backends store. The client id is an
// opaque string chosen by the caller and kept as given (it is not a UUID);
// the tenant id is canonical. A malformed tenant id is NotFound, like any
// tenant that does not exist.
func Client(c latch.Client, now func() time.Time) (latch.Client, error) {
	if !ClientID(c.ID) {
		return c, Invalid("id", "client id is empty or not UTF-8 text")
	}
	if !Text(c.Name) {
		return c, Invalid("name", "client name is not UTF-8 text")
	}
	tenantID, ok := ID(c.TenantID)
	if !ok {
		return c, NotFound("tenant")
	}
	c.TenantID = tenantID
	if !slices.Contains(latch.Scopes(), c.Scope) {
		return c, Invalid("scope", "unknown scope")
	}
	if len(c.SecretHash) == 0 {
		return c, Invalid("secret_hash", "client secret hash is empty")
	}
	c.CreatedAt = Or(c.CreatedAt, now)
	c.RevokedAt = TimePtr(c.RevokedAt)
	return c, nil
}

// ClientToken returns t in the form the backends store. The id names the
// grant in access tokens, so the caller must choose it: a missing or
// malformed one is Invalid. ClientID is kept as given (see Client and
// ClientID; RotateClientToken ignores it).
func ClientToken(t latch.ClientToken, now func() time.Time) (latch.ClientToken, error) {
	id, ok := ID(t.ID)
	if !ok {
		return t, Invalid("id", "client token id must be a UUID")
	}
	t.ID = id
	if len(t.RefreshHash) == 0 {
		return t, Invalid("refresh_token", "refresh token hash is empty")
	}
	t.CreatedAt = Or(t.CreatedAt, now)
	t.ExpiresAt = Time(t.ExpiresAt)
	t.RevokedAt = TimePtr(t.RevokedAt)
	return t, nil
}

// Audit returns e in the form the backends store: At defaulted and
// truncated, the tenant id canonical ("" for none), the id left to the
// database. Actor and target ids are kept as given (a client id is not a
// UUID, and an event names what it names verbatim), except that what is
// not Text is replaced: a record of a change must not make it fail.
func Audit(e latch.AuditEvent, now func() time.Time) (latch.AuditEvent, error) {
	if e.Action == "" {
		return e, Invalid("action", "an audit event needs an action")
	}
	if e.TenantID != "" {
		id, ok := ID(e.TenantID)
		if !ok {
			return e, Invalid("tenant_id", "tenant id must be a UUID")
		}
		e.TenantID = id
	}
	e.ID = 0
	e.At = Or(e.At, now)
	for _, f := range []*string{&e.Action, &e.ActorType, &e.ActorID, &e.TargetID, &e.IP} {
		*f = sanitize(*f)
	}
	if len(e.Details) > 0 {
		d := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			d[sanitize(k)] = sanitize(v)
		}
		e.Details = d
	}
	return e, nil
}

// AuditPtr is Audit for the optional event a change carries.
func AuditPtr(e *latch.AuditEvent, now func() time.Time) (*latch.AuditEvent, error) {
	if e == nil {
		return nil, nil
	}
	v, err := Audit(*e, now)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// EncodeDetails encodes an audit event's details as JSON text, or nil (SQL
// NULL) when there are none: a nil and an empty map are stored alike and
// both come back nil.
func EncodeDetails(d map[string]string) (*string, error) {
	if len(d) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, latch.Internal(err)
	}
	s := string(b)
	return &s, nil
}

// DecodeDetails is EncodeDetails' inverse.
func DecodeDetails(s *string) (map[string]string, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(*s), &d); err != nil {
		return nil, latch.Internal(err)
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}

// EncodePolicy encodes a password policy as the JSON text both backends
// store (PasswordPolicy's JSON tags name the fields).
func EncodePolicy(p latch.PasswordPolicy) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", latch.Internal(err)
	}
	return string(b), nil
}

// DecodePolicy is EncodePolicy's inverse.
func DecodePolicy(s string) (latch.PasswordPolicy, error) {
	var p latch.PasswordPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return latch.PasswordPolicy{}, latch.Internal(err)
	}
	return p, nil
}

// UserQuery returns q in the form the backends run it: the tenant
// canonical (required: listing users across tenants is not offered) and
// the limit bounded. The email is left as given: the backends filter on
// its normalized form whenever it is not "", even if that form is empty.
func UserQuery(q latch.UserQuery) (latch.UserQuery, error) {
	if q.TenantID == "" {
		return q, Invalid("tenant_id", "a tenant is required")
	}
	tenantID, err := TenantFilter(q.TenantID)
	if err != nil {
		return q, err
	}
	q.TenantID = tenantID
	if !Text(q.Email) {
		return q, Invalid("email", "email is not UTF-8 text")
	}
	q.Limit = Limit(q.Limit)
	return q, nil
}

// AuditQuery returns q in the form the backends run it.
func AuditQuery(q latch.AuditQuery) (latch.AuditQuery, error) {
	tenantID, err := TenantFilter(q.TenantID)
	if err != nil {
		return q, err
	}
	q.TenantID = tenantID
	for field, v := range map[string]string{"action": q.Action, "actor_id": q.ActorID, "target_id": q.TargetID} {
		if !Text(v) {
			return q, Invalid(field, field+" is not UTF-8 text")
		}
	}
	if !q.Since.IsZero() {
		q.Since = Time(q.Since)
	}
	q.Limit = Limit(q.Limit)
	return q, nil
}
