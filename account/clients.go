package account

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// Admin is whoever runs an administrative use case: an API client,
// authenticated by its token, or the operator at the command line. Its
// tenant bounds what it sees and touches.
type Admin struct {
	// Client is the API client, or nil for the operator.
	Client *latch.Client
	// Grant is the client token the request came with (nil for the
	// operator).
	Grant *latch.ClientToken
	// TenantID is the tenant the admin acts in; "" (the operator without
	// --tenant) acts in all of them.
	TenantID string
}

// Operator returns the command line's Admin: every permission, acting in
// tenantID ("" for every tenant), allowed to act on administrators.
func Operator(tenantID string) Admin { return Admin{TenantID: tenantID} }

// mayActOn refuses a target user outside the admin's tenant, and an
// administrator as the target of a client that is not super.
func (a Admin) mayActOn(u latch.User) error {
	if a.TenantID != "" && u.TenantID != a.TenantID {
		return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeOtherTenant, Message: "the user belongs to another tenant"}
	}
	if u.Admin && a.Client != nil && !a.Client.Super {
		return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAdminTarget, Message: "only a super client may act on an administrator"}
	}
	return nil
}

// tenant is the tenant new things are made in: the admin's, or the
// default one for the operator acting everywhere.
func (a Admin) tenant() string {
	if a.TenantID == "" {
		return latch.DefaultTenantID
	}
	return a.TenantID
}

func (a Admin) actor() (string, string) {
	if a.Client == nil {
		return latch.ActorOperator, "cli"
	}
	return latch.ActorClient, a.Client.ID
}

// clientSecretPrefix marks Latch client secrets for secret scanners.
const clientSecretPrefix = "lcs_"

// clientRefreshPrefix marks client refresh tokens.
const clientRefreshPrefix = "lcr_"

// CreateClientInput describes a new API client.
type CreateClientInput struct {
	Name     string
	Scope    string
	TenantID string // "" is the default tenant
	Super    bool
}

// NewClient is a created client with its secret, which is shown once and
// never stored.
type NewClient struct {
	Client latch.Client
	Secret string
}

// CreateClient makes an API client. Only the operator makes clients.
func (s *Service) CreateClient(ctx context.Context, a Admin, in CreateClientInput) (NewClient, error) {
	if a.Client != nil {
		return NewClient{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "clients are created by the operator"}
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		return NewClient{}, latch.FieldError("name", latch.CodeRequired, "a client needs a name of 1 to 200 characters")
	}
	scope, ok := latch.ParseScope(in.Scope)
	if !ok {
		return NewClient{}, latch.FieldError("scope", latch.CodeInvalidRequest, "scope must be one of: "+scopeNames())
	}
	tenantID := in.TenantID
	if tenantID == "" {
		tenantID = latch.DefaultTenantID
	}
	idBytes := make([]byte, 16)
	_, _ = rand.Read(idBytes) // never fails (crypto/rand)
	secret, secretHash := token.NewOpaque(clientSecretPrefix)
	now := s.now()
	c := latch.Client{
		ID: hex.EncodeToString(idBytes), TenantID: tenantID, Name: name, Scope: scope,
		Super: in.Super, SecretHash: secretHash, CreatedAt: now,
	}
	ev := s.auditEvent(ctx, a, latch.AuditClientCreate, tenantID, "")
	ev.Details = map[string]string{"client_id": c.ID, "name": name, "scope": string(scope)}
	if in.Super {
		ev.Details["super"] = "true"
	}
	if err := s.store.CreateClient(ctx, c, &ev); err != nil {
		return NewClient{}, err
	}
	return NewClient{Client: c, Secret: secret}, nil
}

func scopeNames() string {
	var names []string
	for _, sc := range latch.Scopes() {
		names = append(names, string(sc))
	}
	return strings.Join(names, ", ")
}

// Clients lists the clients the admin's tenant has.
func (s *Service) Clients(ctx context.Context, a Admin) ([]latch.Client, error) {
	if err := a.Authorize(OpListClients); err != nil {
		return nil, err
	}
	return s.store.Clients(ctx, a.TenantID)
}

// RevokeClient revokes a client: its tokens stop working at once.
func (s *Service) RevokeClient(ctx context.Context, a Admin, clientID string) error {
	if a.Client != nil {
		return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "clients are revoked by the operator"}
	}
	c, err := s.store.ClientByID(ctx, clientID)
	if err != nil {
		return err
	}
	if a.TenantID != "" && c.TenantID != a.TenantID {
		return latch.Errorf(latch.KindNotFound, latch.CodeNotFound, "no such client")
	}
	ev := s.auditEvent(ctx, a, latch.AuditClientRevoke, c.TenantID, "")
	ev.Details = map[string]string{"client_id": c.ID}
	return s.store.RevokeClient(ctx, c.ID, s.now(), &ev)
}

// ClientTokenPair is what the client-credentials grant hands out.
type ClientTokenPair struct {
	AccessToken  string
	RefreshToken string
	CreatedAt    time.Time
	ExpiresIn    time.Duration
	Client       latch.Client
	Tenant       latch.Tenant
}

func errInvalidClient() error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidClient, Message: "client authentication failed"}
}

// IssueClientToken is the client-credentials grant: a client proves
// itself with its id and secret and gets an access token and a refresh
// token. An unknown client, a wrong secret and a revoked client give the
// same answer.
//
// Failures are limited per client address (LoginFailures): a secret has
// 256 bits and cannot be guessed, but a scanner should not cost a store
// read per attempt without end.
func (s *Service) IssueClientToken(ctx context.Context, clientID, secret string) (_ ClientTokenPair, err error) {
	defer func() { s.cfg.Observer.Login(LoginClient, result(err)) }()
	failures := clientAuthFailuresKey + s.addressKey(latch.ClientIP(ctx))
	if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
		return ClientTokenPair{}, err
	}
	presented := token.HashOpaque(secret)
	c, err := s.store.ClientByID(ctx, clientID)
	if err != nil && !latch.IsKind(err, latch.KindNotFound) {
		return ClientTokenPair{}, err
	}
	match := secretMatches(presented, c.SecretHash)
	if err != nil || !match || !c.Live() || !token.LooksOpaque(secret, clientSecretPrefix) {
		if lerr := s.limit(ctx, failures, s.cfg.LoginFailures, 1); lerr != nil && !latch.IsKind(lerr, latch.KindTooMany) {
			return ClientTokenPair{}, lerr
		}
		return ClientTokenPair{}, errInvalidClient()
	}
	return s.startClientGrant(ctx, c, "")
}

// RefreshClientToken renews a client's grant with its refresh token; the
// old access and refresh tokens stop working. A refresh token presented
// again is a reuse, as for users: the grant it was renewed into, and every
// grant of that chain, is revoked (their access tokens stop at once),
// except within RefreshReuseInterval of its use, which answers the same
// refresh token and grant again, with a fresh access token.
func (s *Service) RefreshClientToken(ctx context.Context, refreshToken string) (ClientTokenPair, error) {
	invalid := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired refresh token"}
	if !token.LooksOpaque(refreshToken, clientRefreshPrefix) {
		return ClientTokenPair{}, invalid
	}
	pair, err := s.startClientGrant(ctx, latch.Client{}, refreshToken)
	switch {
	case latch.IsCode(err, latch.CodeRefreshTokenReused):
		s.log.WarnContext(ctx, "client refresh token reused: its grant is revoked")
	case latch.IsKind(err, latch.KindNotFound):
		return ClientTokenPair{}, invalid
	}
	return pair, err
}

// startClientGrant stores a new grant for c (or, with oldRefresh, in place
// of the grant that refresh token renews) and signs its access token.
func (s *Service) startClientGrant(ctx context.Context, c latch.Client, oldRefresh string) (ClientTokenPair, error) {
	now := s.now()
	id, err := newID()
	if err != nil {
		return ClientTokenPair{}, latch.Internal(err)
	}
	var refresh string
	var refreshHash []byte
	if oldRefresh == "" {
		refresh, refreshHash = token.NewOpaque(clientRefreshPrefix)
	} else {
		// Derived, as for users' refresh tokens (see Refresh): a second
		// presentation within the reuse interval finds the same successor.
		refresh, refreshHash = s.keys.Successor(clientRefreshPrefix, oldRefresh)
	}
	grant := latch.ClientToken{ID: id, ClientID: c.ID, RefreshHash: refreshHash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if oldRefresh == "" {
		err = s.store.CreateClientToken(ctx, grant)
	} else {
		grant, c, err = s.store.RotateClientToken(ctx, token.HashOpaque(oldRefresh), grant, s.cfg.RefreshReuseInterval)
	}
	if err != nil {
		return ClientTokenPair{}, err
	}
	tenant, err := s.store.TenantByID(ctx, c.TenantID)
	if err != nil {
		return ClientTokenPair{}, err
	}
	exp := now.Add(s.cfg.AccessTokenTTL)
	access, err := s.keys.Sign(token.Claims{
		Subject: c.ID, SessionID: grant.ID, Kind: latch.KindClient,
		Scopes: []string{ScopeClaim(c.Scope)}, IssuedAt: now, Expiry: exp,
	})
	if err != nil {
		return ClientTokenPair{}, latch.Internal(err)
	}
	return ClientTokenPair{AccessToken: access, RefreshToken: refresh, CreatedAt: now, ExpiresIn: exp.Sub(now), Client: c, Tenant: tenant}, nil
}

// ScopeClaim is how a client's scope appears in its token's "scope" claim
// (space-separated by RFC 9068, so the name's spaces become underscores).
func ScopeClaim(sc latch.Scope) string {
	return "admin:" + strings.ReplaceAll(strings.ToLower(string(sc)), " ", "_")
}

// errNotClientToken refuses a user's token where a client's is needed.
func errNotClientToken() error {
	return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeNotClientToken, Message: "this endpoint needs an API client's token"}
}

// AuthenticateClient verifies a client's access token and checks, against
// the store, that its grant and the client are still live. The client's
// scope is read from the store, so revoking a client takes effect at once.
func (s *Service) AuthenticateClient(ctx context.Context, accessToken string) (Admin, error) {
	claims, err := s.keys.Verify(accessToken)
	if err != nil {
		return Admin{}, err
	}
	if claims.Kind != latch.KindClient {
		return Admin{}, errNotClientToken()
	}
	grant, c, err := s.store.ClientTokenWithClient(ctx, claims.SessionID)
	if err != nil {
		if latch.IsKind(err, latch.KindNotFound) {
			return Admin{}, errUnauthenticated(err)
		}
		return Admin{}, err
	}
	if !grant.Live(s.now()) || !c.Live() || c.ID != claims.Subject {
		return Admin{}, errUnauthenticated(nil)
	}
	return Admin{Client: &c, Grant: &grant, TenantID: c.TenantID}, nil
}

// CreateTenant makes a tenant (operator only).
func (s *Service) CreateTenant(ctx context.Context, a Admin, name string) (latch.Tenant, error) {
	if a.Client != nil {
		return latch.Tenant{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "tenants are created by the operator"}
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return latch.Tenant{}, latch.FieldError("name", latch.CodeRequired, "a tenant needs a name of 1 to 200 characters")
	}
	id, err := newID()
	if err != nil {
		return latch.Tenant{}, latch.Internal(err)
	}
	t := latch.Tenant{ID: id, Name: name, CreatedAt: s.now()}
	ev := s.auditEvent(ctx, a, latch.AuditTenantCreate, id, "")
	ev.Details = map[string]string{"name": name}
	return s.store.CreateTenant(ctx, t, &ev)
}

// Tenants lists every tenant (operator).
func (s *Service) Tenants(ctx context.Context) ([]latch.Tenant, error) {
	return s.store.Tenants(ctx)
}
