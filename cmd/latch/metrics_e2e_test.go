package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// scrape is one reading of /metrics: the value of each series, by its
// name and labels as written ("name{a=\"x\",b=\"y\"}"), and the families
// it declares (# TYPE lines).
type scrape struct {
	values   map[string]float64
	families map[string]bool
	series   []series
}

type series struct {
	name   string
	labels map[string]string
	value  float64
}

// seriesLine is a sample line of Prometheus's text format whose label
// values hold no quote or backslash (true of Latch's, which the parse
// checks by refusing anything else).
var seriesLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*)"$`)

func getMetrics(t *testing.T, base string) scrape {
	t.Helper()
	res, err := http.Get(base + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s%s: %d %v\n%s", base, metricsPath, res.StatusCode, err, body)
	}
	s := scrape{values: map[string]float64{}, families: map[string]bool{}}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			s.families[strings.Fields(f)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := seriesLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("value of %q: %v", line, err)
		}
		labels := map[string]string{}
		if m[2] != "" {
			for _, pair := range strings.Split(m[2], `",`) {
				if !strings.HasSuffix(pair, `"`) {
					pair += `"`
				}
				p := labelPair.FindStringSubmatch(pair)
				if p == nil {
					t.Fatalf("label %q of %q", pair, line)
				}
				labels[p[1]] = p[2]
			}
		}
		s.values[key(m[1], labels)] = v
		s.series = append(s.series, series{m[1], labels, v})
	}
	return s
}

// key writes a series' name and labels as the scrape indexes them.
func key(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, k+"="+strconv.Quote(v))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func (s scrape) value(name string, labels map[string]string) (float64, bool) {
	v, ok := s.values[key(name, labels)]
	return v, ok
}

// TestMetricsAfterJourney drives a journey through `latch serve` on
// SQLite (a sign-in, a failed one, a refresh, a request that is no route,
// a recovery email through the outbox, a logout) and checks that
// /metrics counted each by the expected amount, labelled by route
// patterns and never by paths. The Grafana dashboard and the README's list
// are checked against the same scrape: every metric they name exists.
func TestMetricsAfterJourney(t *testing.T) {
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	const pw = "correct horse battery staple"
	in.cli(t, pw+"\n", "users", "create", "--email", "ada@example.com", "--password-stdin")
	in.serve(t)

	token := func(form url.Values) (int, map[string]any) {
		return in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded", form.Encode())
	}
	s, pair := token(url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {pw}})
	if s != 200 {
		t.Fatalf("sign-in: %d %v", s, pair)
	}
	if s, body := token(url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"wrong horse battery staple"}}); s != 400 {
		t.Fatalf("wrong password: %d %v", s, body)
	}
	s, refreshed := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair["refresh_token"].(string)}})
	if s != 200 {
		t.Fatalf("refresh: %d %v", s, refreshed)
	}
	access := refreshed["access_token"].(string)
	if s, _ := in.call(t, "GET", "/v1/me", access, "", ""); s != 200 {
		t.Fatalf("/v1/me: %d", s)
	}
	// Paths that must never become label values: an id in a route, and
	// a path no route serves.
	if s, _ := in.call(t, "DELETE", "/v1/me/identities/0199aaaa-secret-id", access, "", ""); s < 400 {
		t.Fatalf("unlinking an unknown identity: %d", s)
	}
	if res, err := http.Get(in.base + "/no-such-page-4711"); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != 404 {
		t.Fatalf("unknown path: %d", res.StatusCode)
	}
	if s, body := in.call(t, "POST", "/v1/recover", "", "application/json", `{"email":"ada@example.com"}`); s != 202 {
		t.Fatalf("recover: %d %v", s, body)
	}
	if s, _ := in.call(t, "POST", "/v1/logout", access, "", ""); s != 204 {
		t.Fatalf("logout: %d", s)
	}

	// The recovery email is queued by the job worker and sent (to the
	// log, without SMTP) by the delivery worker, each in its own time;
	// the outbox's age is read at most every 5 s.
	var got scrape
	for deadline := time.Now().Add(30 * time.Second); ; {
		got = getMetrics(t, in.base)
		sent, _ := got.value("latch_outbox_sent_total", map[string]string{"template": "recovery"})
		age, _ := got.value("latch_outbox_oldest_pending_age_seconds", nil)
		if sent == 1 && age == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recovery email: sent %v, oldest pending age %v after 30 s", sent, age)
		}
		time.Sleep(200 * time.Millisecond) // polling for the workers, not timing them
	}

	exact := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"latch_logins_total", map[string]string{"method": "password", "result": "success"}, 1},
		{"latch_logins_total", map[string]string{"method": "password", "result": "failure"}, 1},
		{"latch_logins_total", map[string]string{"method": "provider", "result": "success"}, 0},
		{"latch_token_refreshes_total", map[string]string{"result": "success"}, 1},
		{"latch_sessions_created_total", map[string]string{"kind": "session"}, 1},
		{"latch_sessions_revoked_total", map[string]string{"reason": "logout"}, 1},
		{"latch_outbox_queued_total", map[string]string{"template": "recovery"}, 1},
		{"latch_outbox_sent_total", map[string]string{"template": "recovery"}, 1},
		{"latch_outbox_failed_total", map[string]string{"template": "recovery", "outcome": "retry"}, 0},
		{"latch_http_requests_total", map[string]string{"route": "POST /v1/token", "method": "POST", "status": "200"}, 2},
		{"latch_http_requests_total", map[string]string{"route": "POST /v1/token", "method": "POST", "status": "400"}, 1},
		{"latch_http_requests_total", map[string]string{"route": "GET /v1/me", "method": "GET", "status": "200"}, 1},
		{"latch_http_requests_total", map[string]string{"route": "POST /v1/recover", "method": "POST", "status": "202"}, 1},
		{"latch_http_requests_total", map[string]string{"route": "POST /v1/logout", "method": "POST", "status": "204"}, 1},
		{"latch_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}, 1},
		{"latch_http_request_duration_seconds_count", map[string]string{"route": "POST /v1/token", "method": "POST"}, 3},
		// Two verifications (the sign-in and the wrong password), each
		// with a slot at once; no hash made by the server.
		{"latch_password_hash_duration_seconds_count", map[string]string{"operation": "verify"}, 2},
		{"latch_password_hash_duration_seconds_count", map[string]string{"operation": "hash"}, 0},
		{"latch_password_hash_wait_seconds_count", nil, 2},
		{"latch_password_hash_refusals_total", map[string]string{"reason": "queue_full"}, 0},
		{"latch_password_hash_refusals_total", map[string]string{"reason": "shed"}, 0},
		{"latch_password_hash_queue_depth", nil, 0},
		{"latch_ratelimit_decisions_total", map[string]string{"limit": "login-ip", "decision": "allowed"}, 2},
		{"latch_ratelimit_fallbacks_total", nil, 0},
		{"latch_store_call_duration_seconds_count", map[string]string{"operation": "CreateSession"}, 1},
		{"latch_store_call_duration_seconds_count", map[string]string{"operation": "RotateRefreshToken"}, 1},
		{"latch_store_call_duration_seconds_count", map[string]string{"operation": "RevokeSession"}, 1},
		{"latch_store_errors_total", map[string]string{"operation": "RemoveIdentity", "kind": "not_found"}, 1},
	}
	for _, c := range exact {
		if v, ok := got.value(c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s = %v (present: %v), want %v", key(c.name, c.labels), v, ok, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if !got.families[name] {
			t.Errorf("the runtime's %s is not served", name)
		}
	}
	routePattern := regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /[a-zA-Z0-9_./{}-]*$`)
	routes := map[string]bool{}
	for _, s := range got.series {
		if r, ok := s.labels["route"]; ok {
			routes[r] = true
			if r != "unmatched" && !routePattern.MatchString(r) {
				t.Errorf("route label %q of %s is not a route pattern", r, s.name)
			}
		}
	}
	if !routes["DELETE /v1/me/identities/{id}"] {
		t.Errorf("the unlink request is not counted by its pattern; routes: %v", routes)
	}
	raw := fmt.Sprint(got.series)
	for _, path := range []string{"secret-id", "no-such-page", "ada@example.com", "192.0.2", "127.0.0.1"} {
		if strings.Contains(raw, path) {
			t.Errorf("a label holds %q, which a request sent", path)
		}
	}

	t.Run("Dashboard", func(t *testing.T) { checkDashboard(t, got) })
	t.Run("README", func(t *testing.T) { checkREADME(t, got) })
}

// metricName finds the metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:latch|go|process)_[a-z0-9_]+\b`)

// family is the family a sample name belongs to (a histogram's _bucket,
// _sum and _count are its family's).
func family(s scrape, name string) bool {
	if s.families[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && s.families[base] {
			return true
		}
	}
	return false
}

// checkDashboard parses the example Grafana dashboard and checks that
// every metric its queries name is one /metrics serves.
func checkDashboard(t *testing.T, got scrape) {
	raw, err := os.ReadFile("../../docs/grafana/latch.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatalf("docs/grafana/latch.json: %v", err)
	}
	if dashboard.Title == "" || dashboard.UID == "" || len(dashboard.Panels) < 10 {
		t.Fatalf("dashboard %q (uid %q) with %d panels", dashboard.Title, dashboard.UID, len(dashboard.Panels))
	}
	used := map[string]bool{}
	for _, p := range dashboard.Panels {
		if len(p.Targets) == 0 && p.Title != "" {
			continue // a row
		}
		for _, target := range p.Targets {
			names := metricName.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no metric", p.Title, target.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !family(got, n) {
					t.Errorf("panel %q queries %s, which /metrics does not serve", p.Title, n)
				}
			}
		}
	}
	// The dashboard shows every family Latch exports.
	for f := range got.families {
		if strings.HasPrefix(f, "latch_") && !used[f] && !used[f+"_bucket"] && !used[f+"_count"] && !used[f+"_sum"] {
			t.Errorf("the dashboard shows nothing of %s", f)
		}
	}
}

// checkREADME checks the README's Metrics section against the scrape:
// each latch_ name it lists is served, and each one served is listed.
func checkREADME(t *testing.T, got scrape) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Metrics\n")
	if !ok {
		t.Fatal("README.md has no \"## Metrics\" section")
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	listed := map[string]bool{}
	for _, n := range metricName.FindAllString(section, -1) {
		listed[n] = true
		if strings.HasPrefix(n, "latch_") && !family(got, n) {
			t.Errorf("README lists %s, which /metrics does not serve", n)
		}
	}
	for f := range got.families {
		if strings.HasPrefix(f, "latch_") && !listed[f] {
			t.Errorf("README's Metrics section does not list %s", f)
		}
	}
	if !strings.Contains(section, "LATCH_METRICS_ADDR") {
		t.Error("README's Metrics section does not name LATCH_METRICS_ADDR")
	}
}

// TestMetricsAddr checks that LATCH_METRICS_ADDR moves /metrics to a
// listener of its own (and off the main one), and that an address that
// cannot be listened on stops serve with the variable's name.
func TestMetricsAddr(t *testing.T) {
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	in.env = append(in.env, "LATCH_METRICS_ADDR="+metricsAddr)
	in.serve(t)

	res, err := http.Get(in.base + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener: %d, want 404", res.StatusCode)
	}
	got := getMetrics(t, "http://"+metricsAddr)
	// serve's own wait for /healthz came through the main listener.
	if v, ok := got.value("latch_http_requests_total", map[string]string{"route": "GET /healthz", "method": "GET", "status": "200"}); !ok || v < 1 {
		t.Errorf("GET /healthz on the main listener not counted on the metrics listener: %v", v)
	}
	if v, ok := got.value("latch_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}); !ok || v != 1 {
		t.Errorf("the main listener's 404 for /metrics counted %v, want 1", v)
	}
	// Only /metrics there.
	if res, err := http.Get("http://" + metricsAddr + "/healthz"); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /healthz on the metrics listener: %d, want 404", res.StatusCode)
	}

	// The address taken (by the running serve's metrics listener): the
	// second serve stops at once and says which variable is wrong.
	second := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	second.env = append(second.env, "LATCH_METRICS_ADDR="+metricsAddr)
	_, stderr, code := second.run("", "serve")
	if code == 0 || !strings.Contains(stderr, "LATCH_METRICS_ADDR") {
		t.Errorf("serve with LATCH_METRICS_ADDR taken: exit %d, stderr %q", code, stderr)
	}
}
