// Package metrics counts what Latch does, for Prometheus. It is the only
// package besides cmd/ that imports prometheus/client_golang: the others
// report through small interfaces of their own, which the types here
// satisfy (httpx.RequestObserver, password.Observer, account.Observer,
// mail.Observer), or are wrapped (the Store, the Limiter). cmd/latch makes
// the registry and wires everything.
//
// Every label takes its values from a bounded set: route patterns, never
// paths; methods folded to the standard ones; status codes; the names of
// store methods, rate limits, mail templates and outcomes. Nothing a
// client sends becomes a label value as it is.
package metrics

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every metric Latch exports, registered in one registry.
type Metrics struct {
	registry *prometheus.Registry
	requests *Requests
	hashes   *Hashes
	accounts *Accounts
	outbox   *Outbox
	limits   *limits
	store    *storeMetrics
}

// New makes Latch's metrics and registers them in reg, which serves them
// (Handler). The Go runtime and process collectors are the caller's to
// add.
func New(reg *prometheus.Registry) *Metrics {
	queued := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_outbox_queued_total",
		Help: "Messages put in the mail outbox, by template.",
	}, []string{"template"})
	m := &Metrics{
		registry: reg,
		requests: newRequests(),
		hashes:   newHashes(),
		accounts: newAccounts(queued),
		outbox:   newOutbox(queued),
		limits:   newLimits(),
		store:    newStoreMetrics(),
	}
	reg.MustRegister(queued)
	m.requests.register(reg)
	m.hashes.register(reg)
	m.accounts.register(reg)
	m.outbox.register(reg)
	m.limits.register(reg)
	m.store.register(reg)
	return m
}

// Handler serves the registry in Prometheus's text format. At most a few
// scrapes run at once (the others are answered 503): /metrics may be on
// the public listener, and a scrape is not free.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapes,
	})
}

// maxScrapes bounds the scrapes served at once.
const maxScrapes = 4

// Requests is the HTTP middleware's observer (httpx.RequestObserver).
func (m *Metrics) Requests() *Requests { return m.requests }

// Hashes is the password hasher's observer (password.Observer).
func (m *Metrics) Hashes() *Hashes { return m.hashes }

// Accounts is the use cases' observer (account.Observer).
func (m *Metrics) Accounts() *Accounts { return m.accounts }

// Outbox is the mail delivery worker's observer (mail.Observer).
func (m *Metrics) Outbox() *Outbox { return m.outbox }
