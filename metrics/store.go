package metrics

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch"
)

// storeMetrics times every store call and counts its errors, by the
// Store method's name.
type storeMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	// ops holds an entry per method, made at start: a call then pays a
	// read of a map nobody writes, not a lookup by label values. Each
	// method's series is made at its first call, not at start: most
	// methods of the Store are rare (administration, migrations), and a
	// histogram of each would more than triple every scrape.
	ops map[string]*storeOp
}

type storeOp struct {
	name   string
	series atomic.Pointer[observer]
}

type observer struct{ prometheus.Observer }

func newStoreMetrics() *storeMetrics {
	s := &storeMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_store_call_duration_seconds",
			Help:    "Time of a store call (one database transaction or query), by operation (the Store method).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_store_errors_total",
			Help: "Store calls that returned an error, by operation and kind (not_found and conflict are often expected answers; unavailable: the database did not answer in time; internal).",
		}, []string{"operation", "kind"}),
		ops: map[string]*storeOp{},
	}
	store := reflect.TypeFor[latch.Store]()
	for i := range store.NumMethod() {
		if name := store.Method(i).Name; name != "Close" {
			s.ops[name] = &storeOp{name: name}
		}
	}
	return s
}

// observe records a call to the method op that took elapsed seconds.
func (s *storeMetrics) observe(op string, elapsed float64) {
	o, ok := s.ops[op]
	if !ok {
		s.duration.WithLabelValues(op).Observe(elapsed)
		return
	}
	series := o.series.Load()
	if series == nil {
		// Two first calls at once both ask; WithLabelValues gives both
		// the same series.
		series = &observer{s.duration.WithLabelValues(o.name)}
		o.series.Store(series)
	}
	series.Observe(elapsed)
}

func (s *storeMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(s.duration, s.errors)
}

// Store returns next, timing each of its calls and counting their errors.
// Close is passed on untimed.
func (m *Metrics) Store(next latch.Store) latch.Store {
	return &observedStore{next: next, metrics: m.store}
}

// observedStore wraps every method of latch.Store, three lines each. It
// embeds nothing: a method added to latch.Store and not here fails to
// compile (in Store above) rather than pass by untimed.
type observedStore struct {
	next    latch.Store
	metrics *storeMetrics
}

// observe records a call to op that started at start and ended with *err.
func (s *observedStore) observe(op string, start time.Time, err *error) {
	s.metrics.observe(op, time.Since(start).Seconds())
	if *err != nil {
		kind := latch.KindInternal
		var le *latch.Error
		if errors.As(*err, &le) {
			kind = le.Kind
		}
		s.metrics.errors.WithLabelValues(op, kind.String()).Inc()
	}
}

func (s *observedStore) AddIdentity(ctx context.Context, ident latch.Identity, audit *latch.AuditEvent) (err error) {
	defer s.observe("AddIdentity", time.Now(), &err)
	return s.next.AddIdentity(ctx, ident, audit)
}

func (s *observedStore) AddSigningKey(ctx context.Context, k latch.SigningKey) (err error) {
	defer s.observe("AddSigningKey", time.Now(), &err)
	return s.next.AddSigningKey(ctx, k)
}

func (s *observedStore) AppendAudit(ctx context.Context, e latch.AuditEvent) (err error) {
	defer s.observe("AppendAudit", time.Now(), &err)
	return s.next.AppendAudit(ctx, e)
}

func (s *observedStore) AttributeLegacyIdentities(ctx context.Context, provider latch.Provider, issuer string) (_ int, err error) {
	defer s.observe("AttributeLegacyIdentities", time.Now(), &err)
	return s.next.AttributeLegacyIdentities(ctx, provider, issuer)
}

func (s *observedStore) AuditEvents(ctx context.Context, q latch.AuditQuery) (_ []latch.AuditEvent, err error) {
	defer s.observe("AuditEvents", time.Now(), &err)
	return s.next.AuditEvents(ctx, q)
}

func (s *observedStore) ChangePassword(ctx context.Context, pc latch.PasswordChange) (err error) {
	defer s.observe("ChangePassword", time.Now(), &err)
	return s.next.ChangePassword(ctx, pc)
}

func (s *observedStore) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) (_ []latch.Job, err error) {
	defer s.observe("ClaimJobs", time.Now(), &err)
	return s.next.ClaimJobs(ctx, now, lease, limit)
}

func (s *observedStore) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) (_ []latch.MailMessage, err error) {
	defer s.observe("ClaimMail", time.Now(), &err)
	return s.next.ClaimMail(ctx, now, lease, limit)
}

func (s *observedStore) ClaimUnfinishedUser(ctx context.Context, ident latch.Identity, claim latch.User, audit *latch.AuditEvent) (_ latch.User, err error) {
	defer s.observe("ClaimUnfinishedUser", time.Now(), &err)
	return s.next.ClaimUnfinishedUser(ctx, ident, claim, audit)
}

func (s *observedStore) ClientByID(ctx context.Context, id string) (_ latch.Client, err error) {
	defer s.observe("ClientByID", time.Now(), &err)
	return s.next.ClientByID(ctx, id)
}

func (s *observedStore) ClientTokenWithClient(ctx context.Context, tokenID string) (_ latch.ClientToken, _ latch.Client, err error) {
	defer s.observe("ClientTokenWithClient", time.Now(), &err)
	return s.next.ClientTokenWithClient(ctx, tokenID)
}

func (s *observedStore) Clients(ctx context.Context, tenantID string) (_ []latch.Client, err error) {
	defer s.observe("Clients", time.Now(), &err)
	return s.next.Clients(ctx, tenantID)
}

func (s *observedStore) Close() error { return s.next.Close() }

func (s *observedStore) ConsumeAuthorizationCode(ctx context.Context, hash []byte, at time.Time) (_ latch.AuthorizationCode, err error) {
	defer s.observe("ConsumeAuthorizationCode", time.Now(), &err)
	return s.next.ConsumeAuthorizationCode(ctx, hash, at)
}

func (s *observedStore) CreateAuthorizationCode(ctx context.Context, c latch.AuthorizationCode) (err error) {
	defer s.observe("CreateAuthorizationCode", time.Now(), &err)
	return s.next.CreateAuthorizationCode(ctx, c)
}

func (s *observedStore) CreateClient(ctx context.Context, c latch.Client, audit *latch.AuditEvent) (err error) {
	defer s.observe("CreateClient", time.Now(), &err)
	return s.next.CreateClient(ctx, c, audit)
}

func (s *observedStore) CreateClientToken(ctx context.Context, t latch.ClientToken) (err error) {
	defer s.observe("CreateClientToken", time.Now(), &err)
	return s.next.CreateClientToken(ctx, t)
}

func (s *observedStore) CreatePasswordLink(ctx context.Context, l latch.PasswordLink, m latch.MailMessage) (err error) {
	defer s.observe("CreatePasswordLink", time.Now(), &err)
	return s.next.CreatePasswordLink(ctx, l, m)
}

func (s *observedStore) CreateSession(ctx context.Context, ns latch.NewSession) (err error) {
	defer s.observe("CreateSession", time.Now(), &err)
	return s.next.CreateSession(ctx, ns)
}

func (s *observedStore) CreateTenant(ctx context.Context, t latch.Tenant, audit *latch.AuditEvent) (_ latch.Tenant, err error) {
	defer s.observe("CreateTenant", time.Now(), &err)
	return s.next.CreateTenant(ctx, t, audit)
}

func (s *observedStore) CreateUser(ctx context.Context, nu latch.NewUser) (_ latch.User, err error) {
	defer s.observe("CreateUser", time.Now(), &err)
	return s.next.CreateUser(ctx, nu)
}

func (s *observedStore) Credential(ctx context.Context, userID string) (_ latch.Credential, err error) {
	defer s.observe("Credential", time.Now(), &err)
	return s.next.Credential(ctx, userID)
}

func (s *observedStore) CredentialHashExists(ctx context.Context, like, notLike string) (_ bool, err error) {
	defer s.observe("CredentialHashExists", time.Now(), &err)
	return s.next.CredentialHashExists(ctx, like, notLike)
}

func (s *observedStore) DeleteUser(ctx context.Context, id string, audit *latch.AuditEvent) (err error) {
	defer s.observe("DeleteUser", time.Now(), &err)
	return s.next.DeleteUser(ctx, id, audit)
}

func (s *observedStore) EnqueueJob(ctx context.Context, j latch.Job) (err error) {
	defer s.observe("EnqueueJob", time.Now(), &err)
	return s.next.EnqueueJob(ctx, j)
}

func (s *observedStore) EnqueueMail(ctx context.Context, m latch.MailMessage) (err error) {
	defer s.observe("EnqueueMail", time.Now(), &err)
	return s.next.EnqueueMail(ctx, m)
}

func (s *observedStore) FinishJob(ctx context.Context, id string) (err error) {
	defer s.observe("FinishJob", time.Now(), &err)
	return s.next.FinishJob(ctx, id)
}

func (s *observedStore) IdentitiesByUser(ctx context.Context, userID string) (_ []latch.Identity, err error) {
	defer s.observe("IdentitiesByUser", time.Now(), &err)
	return s.next.IdentitiesByUser(ctx, userID)
}

func (s *observedStore) Jobs(ctx context.Context, limit int) (_ []latch.Job, err error) {
	defer s.observe("Jobs", time.Now(), &err)
	return s.next.Jobs(ctx, limit)
}

func (s *observedStore) LegacyIdentityCount(ctx context.Context) (_ map[latch.Provider]int, err error) {
	defer s.observe("LegacyIdentityCount", time.Now(), &err)
	return s.next.LegacyIdentityCount(ctx)
}

func (s *observedStore) ListUsers(ctx context.Context, q latch.UserQuery) (_ []latch.User, err error) {
	defer s.observe("ListUsers", time.Now(), &err)
	return s.next.ListUsers(ctx, q)
}

func (s *observedStore) MailMessages(ctx context.Context, limit int) (_ []latch.MailMessage, err error) {
	defer s.observe("MailMessages", time.Now(), &err)
	return s.next.MailMessages(ctx, limit)
}

func (s *observedStore) MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time, giveUp bool, at time.Time) (err error) {
	defer s.observe("MarkMailFailed", time.Now(), &err)
	return s.next.MarkMailFailed(ctx, id, lastError, retryAt, giveUp, at)
}

func (s *observedStore) MarkMailSent(ctx context.Context, id string, at time.Time) (err error) {
	defer s.observe("MarkMailSent", time.Now(), &err)
	return s.next.MarkMailSent(ctx, id, at)
}

func (s *observedStore) OldestPendingMail(ctx context.Context) (_ time.Time, err error) {
	defer s.observe("OldestPendingMail", time.Now(), &err)
	return s.next.OldestPendingMail(ctx)
}

func (s *observedStore) PasswordHistory(ctx context.Context, userID string, limit int) (_ []string, err error) {
	defer s.observe("PasswordHistory", time.Now(), &err)
	return s.next.PasswordHistory(ctx, userID, limit)
}

func (s *observedStore) PasswordLink(ctx context.Context, hash []byte) (_ latch.PasswordLink, err error) {
	defer s.observe("PasswordLink", time.Now(), &err)
	return s.next.PasswordLink(ctx, hash)
}

func (s *observedStore) Ping(ctx context.Context) (err error) {
	defer s.observe("Ping", time.Now(), &err)
	return s.next.Ping(ctx)
}

func (s *observedStore) PurgeAuthorizationCodes(ctx context.Context, before time.Time, limit int) (_ int, err error) {
	defer s.observe("PurgeAuthorizationCodes", time.Now(), &err)
	return s.next.PurgeAuthorizationCodes(ctx, before, limit)
}

func (s *observedStore) PurgeMail(ctx context.Context, before time.Time, limit int) (_ int, err error) {
	defer s.observe("PurgeMail", time.Now(), &err)
	return s.next.PurgeMail(ctx, before, limit)
}

func (s *observedStore) PurgePasswordLinks(ctx context.Context, before time.Time, limit int) (_ int, err error) {
	defer s.observe("PurgePasswordLinks", time.Now(), &err)
	return s.next.PurgePasswordLinks(ctx, before, limit)
}

func (s *observedStore) PurgeSessions(ctx context.Context, before time.Time, limit int) (_ int, err error) {
	defer s.observe("PurgeSessions", time.Now(), &err)
	return s.next.PurgeSessions(ctx, before, limit)
}

func (s *observedStore) AppCodeByHash(ctx context.Context, hash []byte) (_ latch.AuthorizationCode, err error) {
	defer s.observe("AppCodeByHash", time.Now(), &err)
	return s.next.AppCodeByHash(ctx, hash)
}

func (s *observedStore) RedeemAppCode(ctx context.Context, hash []byte, at time.Time, grant latch.NewSession) (_ latch.AuthorizationCode, err error) {
	defer s.observe("RedeemAppCode", time.Now(), &err)
	return s.next.RedeemAppCode(ctx, hash, at, grant)
}

func (s *observedStore) RefreshTokenHead(ctx context.Context, sessionID string) (_ int64, _ []byte, err error) {
	defer s.observe("RefreshTokenHead", time.Now(), &err)
	return s.next.RefreshTokenHead(ctx, sessionID)
}

func (s *observedStore) RemoveIdentity(ctx context.Context, userID, identityID string) (err error) {
	defer s.observe("RemoveIdentity", time.Now(), &err)
	return s.next.RemoveIdentity(ctx, userID, identityID)
}

func (s *observedStore) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string, at time.Time) (err error) {
	defer s.observe("ReplacePasswordHash", time.Now(), &err)
	return s.next.ReplacePasswordHash(ctx, userID, oldHash, newHash, at)
}

func (s *observedStore) RetryJob(ctx context.Context, id, lastError string, retryAt time.Time) (err error) {
	defer s.observe("RetryJob", time.Now(), &err)
	return s.next.RetryJob(ctx, id, lastError, retryAt)
}

func (s *observedStore) RevokeClient(ctx context.Context, id string, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("RevokeClient", time.Now(), &err)
	return s.next.RevokeClient(ctx, id, at, audit)
}

func (s *observedStore) RevokeSession(ctx context.Context, sessionID string, at time.Time) (err error) {
	defer s.observe("RevokeSession", time.Now(), &err)
	return s.next.RevokeSession(ctx, sessionID, at)
}

func (s *observedStore) RevokeSessions(ctx context.Context, r latch.SessionRevocation) (_ int, err error) {
	defer s.observe("RevokeSessions", time.Now(), &err)
	return s.next.RevokeSessions(ctx, r)
}

func (s *observedStore) RevokeSessionAndGrants(ctx context.Context, sessionID string, at time.Time) (_ int, err error) {
	defer s.observe("RevokeSessionAndGrants", time.Now(), &err)
	return s.next.RevokeSessionAndGrants(ctx, sessionID, at)
}

func (s *observedStore) RotateClientToken(ctx context.Context, oldRefreshHash []byte, next latch.ClientToken, reuseInterval time.Duration) (_ latch.ClientToken, _ latch.Client, err error) {
	defer s.observe("RotateClientToken", time.Now(), &err)
	return s.next.RotateClientToken(ctx, oldRefreshHash, next, reuseInterval)
}

func (s *observedStore) RotateRefreshToken(ctx context.Context, r latch.RefreshRotation) (_ latch.Session, err error) {
	defer s.observe("RotateRefreshToken", time.Now(), &err)
	return s.next.RotateRefreshToken(ctx, r)
}

func (s *observedStore) RotateLegacyRefreshToken(ctx context.Context, hash []byte, next func(sessionID string) []byte, at time.Time, reuseInterval time.Duration) (_ latch.Session, err error) {
	defer s.observe("RotateLegacyRefreshToken", time.Now(), &err)
	return s.next.RotateLegacyRefreshToken(ctx, hash, next, at, reuseInterval)
}

func (s *observedStore) SessionWithUser(ctx context.Context, sessionID string) (_ latch.Session, _ latch.User, err error) {
	defer s.observe("SessionWithUser", time.Now(), &err)
	return s.next.SessionWithUser(ctx, sessionID)
}

func (s *observedStore) SessionsByUser(ctx context.Context, userID string, now time.Time) (_ []latch.Session, err error) {
	defer s.observe("SessionsByUser", time.Now(), &err)
	return s.next.SessionsByUser(ctx, userID, now)
}

func (s *observedStore) SetTenantPolicy(ctx context.Context, tenantID string, p latch.PasswordPolicy, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("SetTenantPolicy", time.Now(), &err)
	return s.next.SetTenantPolicy(ctx, tenantID, p, at, audit)
}

func (s *observedStore) SigningKeys(ctx context.Context) (_ []latch.SigningKey, err error) {
	defer s.observe("SigningKeys", time.Now(), &err)
	return s.next.SigningKeys(ctx)
}

func (s *observedStore) TenantByID(ctx context.Context, id string) (_ latch.Tenant, err error) {
	defer s.observe("TenantByID", time.Now(), &err)
	return s.next.TenantByID(ctx, id)
}

func (s *observedStore) TenantPolicy(ctx context.Context, tenantID string) (_ latch.PasswordPolicy, err error) {
	defer s.observe("TenantPolicy", time.Now(), &err)
	return s.next.TenantPolicy(ctx, tenantID)
}

func (s *observedStore) Tenants(ctx context.Context) (_ []latch.Tenant, err error) {
	defer s.observe("Tenants", time.Now(), &err)
	return s.next.Tenants(ctx)
}

func (s *observedStore) UpdateUser(ctx context.Context, u latch.UserUpdate) (_ latch.User, err error) {
	defer s.observe("UpdateUser", time.Now(), &err)
	return s.next.UpdateUser(ctx, u)
}

func (s *observedStore) UserByEmail(ctx context.Context, email string) (_ latch.User, err error) {
	defer s.observe("UserByEmail", time.Now(), &err)
	return s.next.UserByEmail(ctx, email)
}

func (s *observedStore) UserByID(ctx context.Context, id string) (_ latch.User, err error) {
	defer s.observe("UserByID", time.Now(), &err)
	return s.next.UserByID(ctx, id)
}

func (s *observedStore) UserByIdentity(ctx context.Context, issuer, subject string) (_ latch.User, err error) {
	defer s.observe("UserByIdentity", time.Now(), &err)
	return s.next.UserByIdentity(ctx, issuer, subject)
}

func (s *observedStore) UserByNumber(ctx context.Context, number int64) (_ latch.User, err error) {
	defer s.observe("UserByNumber", time.Now(), &err)
	return s.next.UserByNumber(ctx, number)
}

func (s *observedStore) RotateSigningKey(ctx context.Context, k latch.SigningKey, retireAt time.Time) (err error) {
	defer s.observe("RotateSigningKey", time.Now(), &err)
	return s.next.RotateSigningKey(ctx, k, retireAt)
}

func (s *observedStore) DeleteRetiredSigningKeys(ctx context.Context, now time.Time) (_ int, err error) {
	defer s.observe("DeleteRetiredSigningKeys", time.Now(), &err)
	return s.next.DeleteRetiredSigningKeys(ctx, now)
}

func (s *observedStore) LatestSessionExpiry(ctx context.Context, kinds []latch.TokenKind, now time.Time) (_ time.Time, err error) {
	defer s.observe("LatestSessionExpiry", time.Now(), &err)
	return s.next.LatestSessionExpiry(ctx, kinds, now)
}

func (s *observedStore) CreateApp(ctx context.Context, a latch.App, audit *latch.AuditEvent) (err error) {
	defer s.observe("CreateApp", time.Now(), &err)
	return s.next.CreateApp(ctx, a, audit)
}

func (s *observedStore) AppByID(ctx context.Context, id string) (_ latch.App, err error) {
	defer s.observe("AppByID", time.Now(), &err)
	return s.next.AppByID(ctx, id)
}

func (s *observedStore) AppsByTenant(ctx context.Context, q latch.AppQuery) (_ []latch.App, err error) {
	defer s.observe("AppsByTenant", time.Now(), &err)
	return s.next.AppsByTenant(ctx, q)
}

func (s *observedStore) UpdateApp(ctx context.Context, up latch.AppUpdate) (_ latch.App, err error) {
	defer s.observe("UpdateApp", time.Now(), &err)
	return s.next.UpdateApp(ctx, up)
}

func (s *observedStore) RotateAppSecret(ctx context.Context, id string, secretHash []byte, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("RotateAppSecret", time.Now(), &err)
	return s.next.RotateAppSecret(ctx, id, secretHash, at, audit)
}

func (s *observedStore) RevokeApp(ctx context.Context, id string, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("RevokeApp", time.Now(), &err)
	return s.next.RevokeApp(ctx, id, at, audit)
}

func (s *observedStore) UpsertConsent(ctx context.Context, c latch.AppConsent, audit *latch.AuditEvent) (_ latch.AppConsent, err error) {
	defer s.observe("UpsertConsent", time.Now(), &err)
	return s.next.UpsertConsent(ctx, c, audit)
}

func (s *observedStore) ConsentsByUser(ctx context.Context, userID string) (_ []latch.AppConsent, err error) {
	defer s.observe("ConsentsByUser", time.Now(), &err)
	return s.next.ConsentsByUser(ctx, userID)
}

func (s *observedStore) RevokeConsent(ctx context.Context, userID, appID string, audit *latch.AuditEvent) (err error) {
	defer s.observe("RevokeConsent", time.Now(), &err)
	return s.next.RevokeConsent(ctx, userID, appID, audit)
}

func (s *observedStore) CreateFactor(ctx context.Context, f latch.Factor, audit *latch.AuditEvent) (err error) {
	defer s.observe("CreateFactor", time.Now(), &err)
	return s.next.CreateFactor(ctx, f, audit)
}

func (s *observedStore) FactorsByUser(ctx context.Context, userID string) (_ []latch.Factor, err error) {
	defer s.observe("FactorsByUser", time.Now(), &err)
	return s.next.FactorsByUser(ctx, userID)
}

func (s *observedStore) FactorByID(ctx context.Context, id string) (_ latch.Factor, err error) {
	defer s.observe("FactorByID", time.Now(), &err)
	return s.next.FactorByID(ctx, id)
}

func (s *observedStore) ConfirmFactor(ctx context.Context, id string, step int64, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("ConfirmFactor", time.Now(), &err)
	return s.next.ConfirmFactor(ctx, id, step, at, audit)
}

func (s *observedStore) DeleteFactor(ctx context.Context, userID, id string, audit *latch.AuditEvent) (err error) {
	defer s.observe("DeleteFactor", time.Now(), &err)
	return s.next.DeleteFactor(ctx, userID, id, audit)
}

func (s *observedStore) UseTOTPStep(ctx context.Context, id string, step int64, at time.Time) (err error) {
	defer s.observe("UseTOTPStep", time.Now(), &err)
	return s.next.UseTOTPStep(ctx, id, step, at)
}

func (s *observedStore) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("ReplaceRecoveryCodes", time.Now(), &err)
	return s.next.ReplaceRecoveryCodes(ctx, userID, hashes, at, audit)
}

func (s *observedStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time, audit *latch.AuditEvent, notice *latch.MailMessage) (err error) {
	defer s.observe("UseRecoveryCode", time.Now(), &err)
	return s.next.UseRecoveryCode(ctx, userID, hash, at, audit, notice)
}

func (s *observedStore) RecoveryCodes(ctx context.Context, userID string) (_ []latch.RecoveryCode, err error) {
	defer s.observe("RecoveryCodes", time.Now(), &err)
	return s.next.RecoveryCodes(ctx, userID)
}

func (s *observedStore) FactorByCredentialID(ctx context.Context, credentialID []byte) (_ latch.Factor, err error) {
	defer s.observe("FactorByCredentialID", time.Now(), &err)
	return s.next.FactorByCredentialID(ctx, credentialID)
}

func (s *observedStore) UpdatePasskeyUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) (err error) {
	defer s.observe("UpdatePasskeyUse", time.Now(), &err)
	return s.next.UpdatePasskeyUse(ctx, id, signCount, backupState, at)
}

func (s *observedStore) CreateWebAuthnChallenge(ctx context.Context, c latch.WebAuthnChallenge) (err error) {
	defer s.observe("CreateWebAuthnChallenge", time.Now(), &err)
	return s.next.CreateWebAuthnChallenge(ctx, c)
}

func (s *observedStore) ConsumeWebAuthnChallenge(ctx context.Context, hash []byte, purpose string, at time.Time) (_ latch.WebAuthnChallenge, err error) {
	defer s.observe("ConsumeWebAuthnChallenge", time.Now(), &err)
	return s.next.ConsumeWebAuthnChallenge(ctx, hash, purpose, at)
}

func (s *observedStore) PurgeWebAuthnChallenges(ctx context.Context, before time.Time, limit int) (_ int, err error) {
	defer s.observe("PurgeWebAuthnChallenges", time.Now(), &err)
	return s.next.PurgeWebAuthnChallenges(ctx, before, limit)
}

func (s *observedStore) ResetFactors(ctx context.Context, userID string, audit *latch.AuditEvent, notice *latch.MailMessage) (_ int, err error) {
	defer s.observe("ResetFactors", time.Now(), &err)
	return s.next.ResetFactors(ctx, userID, audit, notice)
}

func (s *observedStore) TenantFactorPolicy(ctx context.Context, tenantID string) (_ latch.FactorPolicy, err error) {
	defer s.observe("TenantFactorPolicy", time.Now(), &err)
	return s.next.TenantFactorPolicy(ctx, tenantID)
}

func (s *observedStore) SetTenantFactorPolicy(ctx context.Context, tenantID string, p latch.FactorPolicy, at time.Time, audit *latch.AuditEvent) (err error) {
	defer s.observe("SetTenantFactorPolicy", time.Now(), &err)
	return s.next.SetTenantFactorPolicy(ctx, tenantID, p, at, audit)
}

func (s *observedStore) DataKeys(ctx context.Context) (_ []latch.DataKey, err error) {
	defer s.observe("DataKeys", time.Now(), &err)
	return s.next.DataKeys(ctx)
}

func (s *observedStore) AddDataKey(ctx context.Context, k latch.DataKey) (err error) {
	defer s.observe("AddDataKey", time.Now(), &err)
	return s.next.AddDataKey(ctx, k)
}
