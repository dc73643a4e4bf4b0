package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Requests counts HTTP requests by route pattern, method and status, and
// times them by route and method.
type Requests struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// children caches the series of each (route, method, status) seen,
	// so that a request pays one map read and no allocation: building the
	// label values (the status as a string) and finding the series by
	// them costs more than the counting.
	mu       sync.RWMutex
	children map[requestKey]requestSeries
}

type requestKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	total    prometheus.Counter
	duration prometheus.Observer
}

// unmatched is the route of a request no route served (a 404 or 405 of
// the mux, a redirect to a canonical path).
const unmatched = "unmatched"

func newRequests() *Requests {
	return &Requests{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_http_requests_total",
			Help: `HTTP requests answered, by route pattern ("unmatched" when no route served it), method and status code.`,
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		children: map[requestKey]requestSeries{},
	}
}

func (q *Requests) register(reg prometheus.Registerer) {
	reg.MustRegister(q.total, q.duration)
}

// ObserveRequest implements httpx.RequestObserver. route is a ServeMux
// pattern ("" for none); method is folded to the standard methods.
func (q *Requests) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	if route == "" {
		route = unmatched
	}
	key := requestKey{route, standardMethod(method), status}
	q.mu.RLock()
	s, ok := q.children[key]
	q.mu.RUnlock()
	if !ok {
		s = q.series(key)
	}
	s.total.Inc()
	s.duration.Observe(elapsed.Seconds())
}

func (q *Requests) series(key requestKey) requestSeries {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s, ok := q.children[key]; ok {
		return s
	}
	s := requestSeries{
		total:    q.total.WithLabelValues(key.route, key.method, strconv.Itoa(key.status)),
		duration: q.duration.WithLabelValues(key.route, key.method),
	}
	q.children[key] = s
	return s
}

// standardMethod returns method if it is one of RFC 9110's (and PATCH),
// else "other": a client may send any token as a method, and each would
// be a new series.
func standardMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
