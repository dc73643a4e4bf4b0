package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/latchid/latch/password"
)

const benchUsage = `usage: latch bench <scenario> [flags]

Drives a running Latch over loopback with a bounded number of clients for a
bounded time (at most 5 minutes) and prints one JSON report.

scenarios:
  login           POST /users/login with a correct password
  wrong-password  POST /users/login with a wrong password for an existing account
  unknown-email   POST /users/login for an email that has no account
  me              GET /v1/me with --token
  healthz         GET /healthz (calibration: what the generator and HTTP alone reach)

flags:
  --url U          base URL of the running Latch (default http://127.0.0.1:8080)
  --clients N      concurrent clients (default 8)
  --duration D     how long to attack (default 10s, at most 5m)
  --rate R         requests per second, 0 = as fast as the clients go (default 0)
  --email E        account email (login, wrong-password)
  --password P     its password (login); or LATCH_BENCH_PASSWORD, which keeps
                   it out of the process list and shell history
  --token T        access token (me); or LATCH_BENCH_TOKEN
  --server-pid N   report the server's peak RSS (VmHWM) and CPU time from /proc
  --argon2-memory-kib, --argon2-time, --argon2-threads, --hash-slots
                   the server's hashing settings: the login scenario measures one
                   hash with them here and reports the hash-bound ceiling
                   (slots / one-hash time) beside the measured rate
`

type benchReport struct {
	Scenario      string         `json:"scenario"`
	Clients       int            `json:"clients"`
	Duration      string         `json:"duration"`
	Requests      uint64         `json:"requests"`
	RatePerSec    float64        `json:"rate_per_sec"`
	OKPerSec      float64        `json:"ok_per_sec"`
	StatusCodes   map[string]int `json:"status_codes"`
	LatencyP50MS  float64        `json:"latency_p50_ms"`
	LatencyP95MS  float64        `json:"latency_p95_ms"`
	LatencyP99MS  float64        `json:"latency_p99_ms"`
	LatencyMaxMS  float64        `json:"latency_max_ms"`
	Errors        []string       `json:"errors,omitempty"`
	OneHashMS     float64        `json:"one_hash_ms,omitempty"`
	HashSlots     int            `json:"hash_slots,omitempty"`
	CeilingPerSec float64        `json:"hash_bound_ceiling_per_sec,omitempty"`
	OfCeiling     float64        `json:"fraction_of_ceiling,omitempty"`
	// ConcurrentCeiling is what `slots` hashes running at once actually
	// reach on this machine (no HTTP, no database): below slots/one-hash
	// when concurrent hashes compete for cache and memory bandwidth.
	ConcurrentCeiling float64 `json:"concurrent_hash_ceiling_per_sec,omitempty"`
	OfConcurrent      float64 `json:"fraction_of_concurrent_ceiling,omitempty"`
	CPUBeyondMS       float64 `json:"cpu_ms_per_login_beyond_hash,omitempty"`
	Cores             int     `json:"cores"`
	ServerPeakRSS     string  `json:"server_peak_rss,omitempty"`
	ServerCPUSecs     float64 `json:"server_cpu_seconds,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, benchUsage)
		return nil
	}
	scenario := args[0]
	fs := newFlags("bench " + scenario)
	base := fs.String("url", "http://127.0.0.1:8080", "")
	clients := fs.Int("clients", 8, "")
	duration := fs.Duration("duration", 10*time.Second, "")
	rate := fs.Int("rate", 0, "")
	email := fs.String("email", "", "")
	pw := fs.String("password", "", "")
	tok := fs.String("token", "", "")
	pid := fs.Int("server-pid", 0, "")
	def := password.DefaultParams()
	mem := fs.Uint("argon2-memory-kib", uint(def.MemoryKiB), "")
	tcost := fs.Uint("argon2-time", uint(def.Time), "")
	threads := fs.Uint("argon2-threads", uint(def.Threads), "")
	slots := fs.Int("hash-slots", runtime.GOMAXPROCS(0), "")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *pw == "" {
		*pw = os.Getenv("LATCH_BENCH_PASSWORD")
	}
	if *tok == "" {
		*tok = os.Getenv("LATCH_BENCH_TOKEN")
	}
	if *clients < 1 || *clients > 1024 {
		return cliError{"bench: --clients must be from 1 to 1024"}
	}
	if *duration <= 0 || *duration > 5*time.Minute {
		return cliError{"bench: --duration must be positive and at most 5m"}
	}
	if !strings.HasPrefix(*base, "http://127.") && !strings.HasPrefix(*base, "http://localhost") && !strings.HasPrefix(*base, "http://[::1]") {
		return cliError{"bench: --url must be a loopback address (127.0.0.0/8, localhost or [::1])"}
	}
	var target vegeta.Target
	jsonHeaders := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	login := func(email, pw string) vegeta.Target {
		body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		return vegeta.Target{Method: "POST", URL: *base + "/users/login", Body: body, Header: jsonHeaders}
	}
	switch scenario {
	case "login":
		if *email == "" || *pw == "" {
			return cliError{"bench login: --email and --password are required"}
		}
		target = login(*email, *pw)
	case "wrong-password":
		if *email == "" {
			return cliError{"bench wrong-password: --email is required"}
		}
		target = login(*email, "definitely-not-the-password-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	case "unknown-email":
		target = login("nobody-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"@bench.invalid", "definitely-not-the-password")
	case "healthz":
		target = vegeta.Target{Method: "GET", URL: *base + "/healthz"}
	case "me":
		if *tok == "" {
			return cliError{"bench me: --token is required"}
		}
		target = vegeta.Target{Method: "GET", URL: *base + "/v1/me", Header: http.Header{"Authorization": {"Bearer " + *tok}}}
	default:
		return cliError{fmt.Sprintf("bench: unknown scenario %q\n\n%s", scenario, benchUsage)}
	}

	report := benchReport{Scenario: scenario, Clients: *clients, Duration: duration.String(), Cores: runtime.NumCPU()}
	if scenario == "login" {
		params := password.Params{MemoryKiB: uint32(*mem), Time: uint32(*tcost), Threads: uint8(*threads)}
		if err := params.Validate(); err != nil {
			return cliError{"bench: " + err.Error()}
		}
		report.OneHashMS = oneHashMS(params)
		report.HashSlots = *slots
		report.CeilingPerSec = float64(*slots) * 1000 / report.OneHashMS
		report.ConcurrentCeiling = concurrentHashesPerSec(params, *slots)
	}
	var cpuBefore float64
	if *pid > 0 {
		cpuBefore = procCPUSeconds(*pid)
	}

	attacker := vegeta.NewAttacker(
		vegeta.Workers(uint64(*clients)), vegeta.MaxWorkers(uint64(*clients)),
		vegeta.Connections(*clients), vegeta.MaxConnections(*clients),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second),
		// Bodies are drained but not kept: the report needs status codes
		// and latencies, and keeping bodies costs the generator CPU that
		// the server under test would otherwise get.
		vegeta.MaxBody(0),
	)
	pacer := vegeta.Rate{Freq: *rate, Per: time.Second}
	var metrics vegeta.Metrics
	// An empty attack name keeps vegeta from adding a header to every request.
	results := attacker.Attack(vegeta.NewStaticTargeter(target), pacer, *duration, "")
	for {
		select {
		case <-ctx.Done():
			attacker.Stop()
		case res, ok := <-results:
			if !ok {
				goto done
			}
			metrics.Add(res)
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
	sort.Strings(metrics.Errors)
	if len(metrics.Errors) > 10 {
		metrics.Errors = metrics.Errors[:10]
	}
	report.Errors = metrics.Errors
	if scenario == "login" && report.OKPerSec > 0 {
		report.OfCeiling = report.OKPerSec / report.CeilingPerSec
		report.OfConcurrent = report.OKPerSec / report.ConcurrentCeiling
		report.CPUBeyondMS = float64(report.Cores)*1000/report.OKPerSec - report.OneHashMS
	}
	if *pid > 0 {
		report.ServerPeakRSS = procField(*pid, "VmHWM")
		report.ServerCPUSecs = procCPUSeconds(*pid) - cpuBefore
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// oneHashMS is the mean time of one argon2id hash with p on this machine,
// measured while the server is idle: a few hashes to warm the heap up (the
// first ones fault fresh pages in and are much slower than steady state),
// then as many as fit in one second, at least 10.
func oneHashMS(p password.Params) float64 {
	hash := func() { _, _ = password.Hash("benchmark-password-1", p) }
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
	var done atomic.Int64
	stop := time.Now().Add(2 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				_, _ = password.Hash("benchmark-password-1", p)
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
