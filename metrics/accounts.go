package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Accounts counts what the use cases report (account.Observer): sign-ins
// by method and result, refreshes, sessions started and revoked, mail
// queued.
type Accounts struct {
	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	created   *prometheus.CounterVec
	revoked   *prometheus.CounterVec
	queued    *prometheus.CounterVec
	// changeDelay and feedUp describe the session change feed that keeps
	// the sessions cache right (latch.SessionChangeFeed).
	changeDelay prometheus.Histogram
	feedUp      prometheus.Gauge
}

func newAccounts(queued *prometheus.CounterVec) *Accounts {
	a := &Accounts{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_logins_total",
			Help: "Sign-ins, by method (password, provider, client) and result (success, failure, inactive, password_change_required, limited, invalid, unavailable, error).",
		}, []string{"method", "result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_token_refreshes_total",
			Help: "Exchanges of a user's refresh token, by result (success, failure, reused: presented again, its session revoked; unavailable, error).",
		}, []string{"result"}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_sessions_created_total",
			Help: "Sessions started, by kind (session: a sign-in; personal, project: tokens issued by an operator).",
		}, []string{"kind"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_sessions_revoked_total",
			Help: "Sessions ended before their time, by reason (logout, admin, refresh_reuse). Sessions a password change or a deactivation ends are not counted.",
		}, []string{"reason"}),
		queued: queued,
		changeDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "latch_session_change_delay_seconds",
			Help: "Time from the database writing a session or user change (its trigger's clock) to this replica hearing of it and forgetting the user's cached sessions: how long another replica's revocation may go unseen here.",
			// The goal is under 50 ms; the tail shows a loaded database
			// or a slow poll.
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}),
		feedUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "latch_session_change_feed_up",
			Help: "1 while this replica hears session changes and keeps live sessions in memory; 0 while every authenticated request reads the database (the feed is down, resynchronising or not started).",
		}),
	}
	// The series of account's constants (account.LoginPassword,
	// account.ResultSuccess, ...) are made now, so that they read 0 rather
	// than nothing until each first happens. A value added there later is
	// still counted, from its first time.
	results := []string{"success", "failure", "inactive", "password_change_required", "limited", "invalid", "unavailable", "error"}
	for _, method := range []string{"password", "provider", "client"} {
		for _, r := range results {
			a.logins.WithLabelValues(method, r)
		}
	}
	for _, r := range []string{"success", "failure", "reused", "unavailable", "error"} {
		a.refreshes.WithLabelValues(r)
	}
	for _, kind := range []string{"session", "personal", "project"} {
		a.created.WithLabelValues(kind)
	}
	for _, reason := range []string{"logout", "admin", "refresh_reuse"} {
		a.revoked.WithLabelValues(reason)
	}
	return a
}

func (a *Accounts) register(reg prometheus.Registerer) {
	reg.MustRegister(a.logins, a.refreshes, a.created, a.revoked, a.changeDelay, a.feedUp)
}

// Login implements account.Observer.
func (a *Accounts) Login(method, result string) { a.logins.WithLabelValues(method, result).Inc() }

// Refresh implements account.Observer.
func (a *Accounts) Refresh(result string) { a.refreshes.WithLabelValues(result).Inc() }

// SessionCreated implements account.Observer.
func (a *Accounts) SessionCreated(kind string) { a.created.WithLabelValues(kind).Inc() }

// SessionsRevoked implements account.Observer.
func (a *Accounts) SessionsRevoked(reason string, n int) {
	a.revoked.WithLabelValues(reason).Add(float64(n))
}

// MailQueued implements account.Observer.
func (a *Accounts) MailQueued(template string) { a.queued.WithLabelValues(template).Inc() }

// SessionChangeDelay implements account.Observer.
func (a *Accounts) SessionChangeDelay(d time.Duration) {
	// Clocks of the database and this host may differ a little: a
	// negative delay is counted as none.
	a.changeDelay.Observe(max(d, 0).Seconds())
}

// SessionChangeFeed implements account.Observer.
func (a *Accounts) SessionChangeFeed(up bool) {
	if up {
		a.feedUp.Set(1)
	} else {
		a.feedUp.Set(0)
	}
}
