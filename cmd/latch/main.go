// Command latch is the Latch identity service and its operator CLI:
// `latch serve` runs the service, and the other commands (`latch --help`
// lists them, `latch help CMD` explains one) administer it from the same
// binary and the same LATCH_* configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// run runs one command line with the given streams and environment
// (os.Environ's form) and returns the exit status: 0, 1 when the command
// failed, 2 for a mistake in the command line or an unknown LATCH_*
// variable.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	inv := &invocation{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, env: newEnvironment(environ)}
	root := newCommandLine(inv)
	// Never nil: cobra reads os.Args when given nil.
	root.SetArgs(append([]string{}, args...))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "latch:", err)
	var ce cliError
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

func serveCommand(inv *invocation) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the HTTP service on LATCH_ADDR (applies migrations first)",
		Long: `Run the HTTP service on LATCH_ADDR until SIGINT or SIGTERM; requests in
flight get LATCH_SHUTDOWN_GRACE to finish. Migrations are applied first.
Configuration comes from LATCH_* variables (README.md, Configuration).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := inv.config()
			if err != nil {
				return err
			}
			return serve(inv.ctx, cfg, inv.env.Getenv)
		},
	}
}

func serve(ctx context.Context, cfg config, getenv func(string) string) error {
	log := cfg.logger()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.LoginFailureFloorAuto {
		cfg.VerifyCosts = measureVerifyCosts(cfg.Argon2, log)
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.accounts.LoadFailureFloor(ctx); err != nil {
		return fmt.Errorf("failed sign-in floor: %w", err)
	}
	if f := a.accounts.FailureFloor(); f > 0 {
		log.Info("failed sign-ins answer no sooner than the slowest verification of a stored hash", "floor", f.Round(time.Millisecond))
	}
	if err := a.bindProviders(ctx); err != nil {
		return err
	}
	memoryLimit := tuneGC(a.hasher.Slots(), cfg.Argon2.MemoryKiB, getenv)
	if cfg.MetricsAddr != "" {
		stopMetrics, err := a.serveMetrics(cfg.MetricsAddr)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
	}
	log.Info("latch serving", "addr", ln.Addr().String(), "database", redactURL(cfg.DatabaseURL),
		"public_url", cfg.PublicURL, "hash_slots", a.hasher.Slots(), "argon2_memory_kib", cfg.Argon2.MemoryKiB, "memory_limit_mib", memoryLimit>>20)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, log)
	}
	go purgeSessions(ctx, a, cfg.Retention, log)
	a.watchSessionChanges(ctx)
	go refreshKeys(ctx, a.keys, log)
	mailDone, err := a.startMail(ctx)
	if err != nil {
		return err
	}
	defer func() { <-mailDone }()
	// Registered after mailDone's wait, so it runs before it: the job
	// worker may still queue mail.
	jobsDone := a.startJobs(ctx)
	defer func() { <-jobsDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	// Recovery and sign-up requests answered but not done yet are in the
	// store: the job worker stops with ctx, and another replica, or this
	// one when it is back, does them.
	return srv.Shutdown(shutdownCtx)
}

// describe turns a use-case error into a one-line message for an operator.
func describe(err error) error {
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind == latch.KindInternal {
		return err
	}
	msg := le.Message
	for i, d := range le.Details {
		if i == 0 {
			msg = d.Message
			continue
		}
		msg += "; " + d.Message
	}
	return fmt.Errorf("%s (%s)", msg, le.Code)
}

// purgeSessions deletes ended sessions at start and then hourly, until ctx
// ends. Several replicas doing it at once only repeat harmless deletes.
func purgeSessions(ctx context.Context, a *app, retention time.Duration, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := a.accounts.PurgeEndedSessions(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purging ended sessions", "err", err)
		case n > 0:
			log.Info("purged ended sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// serveDebug serves Go's profiler on a separate listener, for operators
// who ask for it with LATCH_DEBUG_ADDR (keep it on loopback).
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("debug listener (pprof)", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("debug listener stopped", "err", err)
	}
}

// tuneGC sets the garbage collector for a password service, unless the
// operator set GOGC or GOMEMLIMIT. Every hash allocates its whole argon2
// memory afresh (x/crypto cannot reuse a buffer) while the rest of the live
// heap is a few MiB. Go collects when the heap has grown by GOGC percent of
// what was live, so:
//
//   - with small argon2 memory the live heap is tiny and GOGC=100 collects
//     every few logins, costing more CPU than everything else a login does
//     besides the hash (measured at m=1 MiB: 1.9 ms vs 0.4 ms per login).
//     GOGC is raised so that about 32 MiB of garbage may pile up first;
//   - with large argon2 memory the in-flight buffers dominate the live heap
//     and GOGC=100 already allows two more of them: that is kept.
//
// A soft memory limit of 48 MiB plus one argon2 buffer per hash slot then
// bounds the heap, so RSS under a login flood stays near slots x m plus a
// constant instead of growing with GOGC (at the defaults, 200 clients for
// 10 s: peak RSS 107-115 MiB with 48 MiB, 125-139 MiB with 64 MiB, and
// no measurable change in logins/s at 8 clients).
func tuneGC(slots int, memoryKiB uint32, getenv func(string) string) (memoryLimit int64) {
	argonLive := int64(slots) * int64(memoryKiB) << 10
	if getenv("GOGC") == "" {
		debug.SetGCPercent(int(max(100, 100*int64(32<<20)/argonLive)))
	}
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(48<<20) + argonLive
	debug.SetMemoryLimit(limit)
	return limit
}

func nowUTC() time.Time { return time.Now().UTC() }

// measureVerifyCosts times, once at start, how long this machine takes to
// verify argon2id at the service's parameters and each import format at
// its caps (see password.MeasureVerifyCosts); the failed sign-in floor is
// made of them and of the hashes the store holds.
func measureVerifyCosts(p password.Params, log *slog.Logger) *password.VerifyCosts {
	c := password.MeasureVerifyCosts(p)
	log.Debug("password verification costs measured",
		"argon2id_own", c.Own.Round(time.Millisecond), "argon2_import", c.Argon2.Round(time.Millisecond),
		"bcrypt_14", c.Bcrypt.Round(time.Millisecond), "scrypt_import", c.Scrypt.Round(time.Millisecond),
		"pbkdf2_import", c.PBKDF2.Round(time.Millisecond))
	return &c
}
