package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/latchid/latch/password"
)

type benchReport struct {
	Scenario     string         `json:"scenario"`
	Clients      int            `json:"clients"`
	Duration     string         `json:"duration"`
	Requests     uint64         `json:"requests"`
	RatePerSec   float64        `json:"rate_per_sec"`
	OKPerSec     float64        `json:"ok_per_sec"`
	StatusCodes  map[string]int `json:"status_codes"`
	LatencyP50MS float64        `json:"latency_p50_ms"`
	LatencyP95MS float64        `json:"latency_p95_ms"`
	LatencyP99MS float64        `json:"latency_p99_ms"`
	LatencyMaxMS float64        `json:"latency_max_ms"`
	// LatencyP99ByStatusMS tells a fast refusal from a slow success: under
	// overload the overall p99 mixes 503s with 200s.
	LatencyP99ByStatusMS map[string]float64 `json:"latency_p99_ms_by_status"`
	Errors               []string           `json:"errors,omitempty"`
	OneHashMS            float64            `json:"one_hash_ms,omitempty"`
	HashSlots            int                `json:"hash_slots,omitempty"`
	CeilingPerSec        float64            `json:"hash_bound_ceiling_per_sec,omitempty"`
	OfCeiling            float64            `json:"fraction_of_ceiling,omitempty"`
	// ConcurrentCeiling is what `slots` hashes running at once actually
	// reach on this machine (no HTTP, no database): below slots/one-hash
	// when concurrent hashes compete for cache and memory bandwidth.
	ConcurrentCeiling float64 `json:"concurrent_hash_ceiling_per_sec,omitempty"`
	OfConcurrent      float64 `json:"fraction_of_concurrent_ceiling,omitempty"`
	CPUBeyondMS       float64 `json:"cpu_ms_per_login_beyond_hash,omitempty"`
	// ServerCPUBeyondMS is the server's own CPU per login (from /proc,
	// with --server-pid) beyond one hash: CPUBeyondMS counts every core's
	// time, the load generator's on the same cores included.
	ServerCPUBeyondMS float64 `json:"server_cpu_ms_per_login_beyond_hash,omitempty"`
	Cores             int     `json:"cores"`
	ServerPeakRSS     string  `json:"server_peak_rss,omitempty"`
	ServerCPUSecs     float64 `json:"server_cpu_seconds,omitempty"`
}

func benchCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench SCENARIO",
		Short: "load a running Latch over loopback and print one JSON report",
		Long: `Drive a running Latch over loopback with a bounded number of clients for a
bounded time (at most 5 minutes) and print one JSON report.

Scenarios:
  login           POST /users/login with a correct password
  wrong-password  POST /users/login with a wrong password for an existing account
  unknown-email   POST /users/login for an email that has no account
  me              GET /v1/me with --token
  refresh         each client signs in once at /v1/token, then refreshes its
                  session over and over with the refresh token each answer gives
  healthz         GET /healthz (calibration: what the generator and HTTP alone reach)
  trivial         GET --url/ of "latch bench-trivial-server" (the baseline a
                  handler's rate is compared with: HTTP and JSON alone)

With --honour-retry-after (login, refresh is always so) each client waits
out the Retry-After of a 503 or 429 before its next request, as a
well-behaved client does, instead of asking again at once.

The password (login) may come from LATCH_BENCH_PASSWORD and the token (me)
from LATCH_BENCH_TOKEN, which keeps them out of the process list and shell
history. --argon2-* and --hash-slots are the server's hashing settings: the
login scenario measures one hash with them here and reports the hash-bound
ceiling (slots / one-hash time) beside the measured rate.`,
		Example: `  LATCH_BENCH_PASSWORD='...' latch bench login --email ada@example.com --clients 8 --duration 15s`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "want one scenario: login, wrong-password, unknown-email, me, refresh, healthz or trivial (latch bench --help)")
			}
			return nil
		},
	}
	f := cmd.Flags()
	base := f.String("url", "http://127.0.0.1:8080", "base URL of the running Latch (loopback only)")
	clients := f.Int("clients", 8, "concurrent clients (1-1024)")
	duration := f.Duration("duration", 10*time.Second, "how long to attack (at most 5m)")
	rate := f.Int("rate", 0, "requests per second, 0 = as fast as the clients go")
	email := f.String("email", "", "account email (login, wrong-password)")
	pw := f.String("password", "", "its password (login); or LATCH_BENCH_PASSWORD")
	tok := f.String("token", "", "access token (me); or LATCH_BENCH_TOKEN")
	pid := f.Int("server-pid", 0, "report the server's peak RSS (VmHWM) and CPU time from /proc")
	def := password.DefaultParams()
	mem := f.Uint("argon2-memory-kib", uint(def.MemoryKiB), "the server's argon2 memory (KiB)")
	tcost := f.Uint("argon2-time", uint(def.Time), "the server's argon2 passes")
	threads := f.Uint("argon2-threads", uint(def.Threads), "the server's argon2 lanes")
	slots := f.Int("hash-slots", runtime.GOMAXPROCS(0), "the server's hash slots")
	honour := f.Bool("honour-retry-after", false, "clients wait out a 503's or 429's Retry-After (login; refresh always does)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runBench(inv.ctx, args[0], benchSettings{
			base: *base, clients: *clients, duration: *duration, rate: *rate, email: *email,
			password: *pw, token: *tok, serverPID: *pid, slots: *slots, honourRetryAfter: *honour,
			params: password.Params{MemoryKiB: uint32(*mem), Time: uint32(*tcost), Threads: uint8(*threads)},
		}, inv.env.Getenv, inv.stdout)
	}
	return cmd
}

// benchSettings are latch bench's flags.
type benchSettings struct {
	base      string
	clients   int
	duration  time.Duration
	rate      int
	email     string
	password  string
	token     string
	serverPID int
	slots     int
	params    password.Params
	// honourRetryAfter drives the load with closedLoop rather than vegeta.
	honourRetryAfter bool
}

func runBench(ctx context.Context, scenario string, bs benchSettings, getenv func(string) string, stdout io.Writer) error {
	if bs.password == "" {
		bs.password = getenv(envBenchPassword)
	}
	if bs.token == "" {
		bs.token = getenv(envBenchToken)
	}
	if bs.clients < 1 || bs.clients > 1024 {
		return cliError{"bench: --clients must be from 1 to 1024"}
	}
	if bs.duration <= 0 || bs.duration > 5*time.Minute {
		return cliError{"bench: --duration must be positive and at most 5m"}
	}
	if !strings.HasPrefix(bs.base, "http://127.") && !strings.HasPrefix(bs.base, "http://localhost") && !strings.HasPrefix(bs.base, "http://[::1]") {
		return cliError{"bench: --url must be a loopback address (127.0.0.0/8, localhost or [::1])"}
	}
	var target vegeta.Target
	var step func(i int) loopStep // closedLoop's, when vegeta's workers do not fit
	jsonHeaders := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	login := func(email, pw string) vegeta.Target {
		body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		return vegeta.Target{Method: "POST", URL: bs.base + "/users/login", Body: body, Header: jsonHeaders}
	}
	switch scenario {
	case "login":
		if bs.email == "" || bs.password == "" {
			return cliError{"bench login: --email and --password are required"}
		}
		target = login(bs.email, bs.password)
		if bs.honourRetryAfter {
			step = func(int) loopStep { return loginStep(bs.base, bs.email, bs.password) }
		}
	case "refresh":
		if bs.email == "" || bs.password == "" {
			return cliError{"bench refresh: --email and --password are required"}
		}
		step = func(int) loopStep { return refreshStep(bs.base, bs.email, bs.password) }
	case "trivial":
		target = vegeta.Target{Method: "GET", URL: bs.base + "/"}
	case "wrong-password":
		if bs.email == "" {
			return cliError{"bench wrong-password: --email is required"}
		}
		target = login(bs.email, "definitely-not-the-password-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	case "unknown-email":
		target = login("nobody-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"@bench.invalid", "definitely-not-the-password")
	case "healthz":
		target = vegeta.Target{Method: "GET", URL: bs.base + "/healthz"}
	case "me":
		if bs.token == "" {
			return cliError{"bench me: --token is required"}
		}
		target = vegeta.Target{Method: "GET", URL: bs.base + "/v1/me", Header: http.Header{"Authorization": {"Bearer " + bs.token}}}
	default:
		return cliError{fmt.Sprintf("bench: unknown scenario %q (want login, wrong-password, unknown-email, me, refresh, healthz or trivial; latch bench --help)", scenario)}
	}

	report := benchReport{Scenario: scenario, Clients: bs.clients, Duration: bs.duration.String(), Cores: runtime.NumCPU()}
	if scenario == "login" {
		params := bs.params
		if err := params.Validate(); err != nil {
			return cliError{"bench: " + err.Error()}
		}
		report.OneHashMS = oneHashMS(params)
		report.HashSlots = bs.slots
		report.CeilingPerSec = float64(bs.slots) * 1000 / report.OneHashMS
		report.ConcurrentCeiling = concurrentHashesPerSec(params, bs.slots)
	}
	var cpuBefore float64
	if bs.serverPID > 0 {
		cpuBefore = procCPUSeconds(bs.serverPID)
	}

	if step != nil {
		results, elapsed := closedLoop(ctx, bs.clients, bs.duration, step)
		fillReport(&report, results, elapsed)
	} else {
		attack(ctx, &report, target, bs)
	}
	if scenario == "login" && report.OKPerSec > 0 {
		report.OfCeiling = report.OKPerSec / report.CeilingPerSec
		report.OfConcurrent = report.OKPerSec / report.ConcurrentCeiling
		report.CPUBeyondMS = float64(report.Cores)*1000/report.OKPerSec - report.OneHashMS
	}
	if bs.serverPID > 0 {
		report.ServerPeakRSS = procField(bs.serverPID, "VmHWM")
		report.ServerCPUSecs = procCPUSeconds(bs.serverPID) - cpuBefore
		if ok := report.StatusCodes["200"]; scenario == "login" && ok > 0 {
			report.ServerCPUBeyondMS = report.ServerCPUSecs*1000/float64(ok) - report.OneHashMS
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// attack drives target with vegeta's workers (each asks again as soon as
// it has its answer) and fills report in.
func attack(ctx context.Context, report *benchReport, target vegeta.Target, bs benchSettings) {
	attacker := vegeta.NewAttacker(
		vegeta.Workers(uint64(bs.clients)), vegeta.MaxWorkers(uint64(bs.clients)),
		vegeta.Connections(bs.clients), vegeta.MaxConnections(bs.clients),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second),
		// Bodies are drained but not kept: the report needs status codes
		// and latencies, and keeping bodies costs the generator CPU that
		// the server under test would otherwise get.
		vegeta.MaxBody(0),
	)
	pacer := vegeta.Rate{Freq: bs.rate, Per: time.Second}
	var metrics vegeta.Metrics
	latencyByStatus := map[uint16][]time.Duration{}
	// An empty attack name keeps vegeta from adding a header to every request.
	results := attacker.Attack(vegeta.NewStaticTargeter(target), pacer, bs.duration, "")
	for {
		select {
		case <-ctx.Done():
			attacker.Stop()
		case res, ok := <-results:
			if !ok {
				goto done
			}
			metrics.Add(res)
			latencyByStatus[res.Code] = append(latencyByStatus[res.Code], res.Latency)
			continue
		}
	}
done:
	metrics.Close()

	report.Requests = metrics.Requests
	report.RatePerSec = metrics.Rate
	report.StatusCodes = metrics.StatusCodes
	ok := metrics.StatusCodes["200"]
	if metrics.Duration > 0 {
		report.OKPerSec = float64(ok) / (metrics.Duration + metrics.Wait).Seconds()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	report.LatencyP50MS, report.LatencyP95MS = ms(metrics.Latencies.P50), ms(metrics.Latencies.P95)
	report.LatencyP99MS, report.LatencyMaxMS = ms(metrics.Latencies.P99), ms(metrics.Latencies.Max)
	report.LatencyP99ByStatusMS = map[string]float64{}
	for code, latencies := range latencyByStatus {
		report.LatencyP99ByStatusMS[strconv.Itoa(int(code))] = ms(percentile(latencies, 0.99))
	}
	sort.Strings(metrics.Errors)
	if len(metrics.Errors) > 10 {
		metrics.Errors = metrics.Errors[:10]
	}
	report.Errors = metrics.Errors
}

// fillReport fills report in from closedLoop's results over elapsed.
func fillReport(report *benchReport, results []loopResult, elapsed time.Duration) {
	report.Requests = uint64(len(results))
	report.StatusCodes = map[string]int{}
	byStatus := map[string][]time.Duration{}
	var all []time.Duration
	errs := map[string]bool{}
	for _, r := range results {
		code := strconv.Itoa(r.code)
		report.StatusCodes[code]++
		byStatus[code] = append(byStatus[code], r.latency)
		all = append(all, r.latency)
		if r.err != "" {
			errs[r.err] = true
		}
	}
	if s := elapsed.Seconds(); s > 0 {
		report.RatePerSec = float64(len(results)) / s
		report.OKPerSec = float64(report.StatusCodes["200"]) / s
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	report.LatencyP50MS, report.LatencyP95MS = ms(percentile(all, 0.5)), ms(percentile(all, 0.95))
	report.LatencyP99MS, report.LatencyMaxMS = ms(percentile(all, 0.99)), ms(percentile(all, 1))
	report.LatencyP99ByStatusMS = map[string]float64{}
	for code, latencies := range byStatus {
		report.LatencyP99ByStatusMS[code] = ms(percentile(latencies, 0.99))
	}
	for e := range errs {
		report.Errors = append(report.Errors, e)
	}
	sort.Strings(report.Errors)
	if len(report.Errors) > 10 {
		report.Errors = report.Errors[:10]
	}
}

// oneHashMS is the mean time of one argon2id hash with p on this machine,
// measured while the server is idle: a few hashes to warm the heap up (the
// first ones fault fresh pages in and are much slower than steady state),
// then as many as fit in one second, at least 10.
//
// The hashes run on a password.Hasher, as the server's do (each slot on
// its reused arena): timing password.Hash, which allocates its memory
// afresh, would set the ceiling below what the server reaches.
func oneHashMS(p password.Params) float64 {
	h, err := password.NewHasher(p, 1, time.Minute)
	if err != nil {
		return 0
	}
	hash := func() { _, _ = h.Hash(context.Background(), "benchmark-password-1") }
	for range 5 {
		hash()
	}
	n, start := 0, time.Now()
	for n < 10 || time.Since(start) < time.Second {
		hash()
		n++
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(n)
}

// concurrentHashesPerSec runs `slots` hashing goroutines for two seconds
// and returns the hashes per second they reach together.
func concurrentHashesPerSec(p password.Params, slots int) float64 {
	h, err := password.NewHasher(p, slots, time.Minute)
	if err != nil {
		return 0
	}
	var done atomic.Int64
	stop := time.Now().Add(2 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				_, _ = h.Hash(context.Background(), "benchmark-password-1")
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func procField(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && name == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// procCPUSeconds is user+system CPU time of pid (fields 14 and 15 of
// /proc/PID/stat, in clock ticks of 1/100 s on Linux).
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name (field 2) may contain spaces; fields resume after ')'.
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// percentile returns the q-quantile (0 < q <= 1) of latencies, nearest
// rank; it sorts latencies in place.
func percentile(latencies []time.Duration, q float64) time.Duration {
	if len(latencies) == 0 {
		return 0
	}
	slices.Sort(latencies)
	rank := int(math.Ceil(q*float64(len(latencies)))) - 1
	return latencies[max(rank, 0)]
}
