// Command latch is the Latch identity service and its operator CLI.
//
//	latch serve                 run the HTTP service (migrations applied first)
//	latch migrate               apply migrations and exit
//	latch backup PATH           copy the SQLite database, online, to a new file
//	latch users create|show     manage accounts
//	latch tenants create|list   manage tenants
//	latch clients create|list|revoke  manage API clients
//	latch policy show|set       a tenant's password policy
//	latch audit tail            the audit log
//	latch tokens issue          issue an access token for a user
//	latch bench login|me        drive a running Latch over loopback and report
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/password"
)

const usage = `usage: latch <command> [flags]

commands:
  serve                      run the HTTP service on LATCH_ADDR
  migrate                    apply database migrations and exit
  backup PATH                copy the SQLite database, while it serves, to a new file
                             (PostgreSQL: use pg_dump)
  users create --email E [--tenant ID] [--provider P --subject S [--issuer URL]] [--admin] [--password-stdin]
  users show --email E
  identities attribute --type T --issuer URL   bind identities stored before issuers were recorded
  tenants create --name N | tenants list
  clients create --name N --scope SCOPE [--tenant ID] [--super]
  clients list [--tenant ID] | clients revoke --id CLIENT_ID
  policy show [--tenant ID]
  policy set [--tenant ID] [--min-length N] [--max-length N] [--require lower,upper,digit,special]
             [--specials CHARS] [--history N] [--refuse-common=BOOL] [--refuse-email=BOOL] [--min-score 0-4]
  audit tail [--tenant ID] [--action A] [-n N] [--follow]
  mail list [-n N]           the outbox: what was sent, what waits, what failed
  tokens issue --email E [--kind session|personal|project] [--scope S ...] [--ttl D]
  bench login|me ...         load a running Latch (see latch bench -h)

Configuration comes from LATCH_* environment variables (see README.md).
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// cliError is a mistake in the command line: exit status 2.
type cliError struct{ msg string }

func (e cliError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	err := dispatch(ctx, args, stdin, stdout, stderr, getenv)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "latch:", err)
	var ce cliError
	if errors.As(err, &ce) {
		return 2
	}
	return 1
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "bench" {
		return runBench(ctx, args[1:], stdout, stderr)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := cfg.logger()
	switch cmd := strings.Join(args[:min(2, len(args))], " "); {
	case args[0] == "serve":
		return serve(ctx, cfg, args[1:], getenv)
	case args[0] == "migrate":
		a, err := newApp(ctx, cfg, log)
		if err != nil {
			return err
		}
		a.Close()
		fmt.Fprintln(stderr, "migrations applied")
		return nil
	case args[0] == "backup":
		return backup(ctx, cfg, args[1:], stderr)
	case cmd == "users create":
		return usersCreate(ctx, cfg, args[2:], stdin, stdout)
	case cmd == "users show":
		return usersShow(ctx, cfg, args[2:], stdout)
	case cmd == "tokens issue":
		return tokensIssue(ctx, cfg, args[2:], stdout)
	case cmd == "tenants create":
		return tenantsCreate(ctx, cfg, args[2:], stdout)
	case cmd == "tenants list":
		return tenantsList(ctx, cfg, args[2:], stdout)
	case cmd == "clients create":
		return clientsCreate(ctx, cfg, args[2:], stdout)
	case cmd == "clients list":
		return clientsList(ctx, cfg, args[2:], stdout)
	case cmd == "clients revoke":
		return clientsRevoke(ctx, cfg, args[2:], stdout)
	case cmd == "policy show":
		return policyShow(ctx, cfg, args[2:], stdout)
	case cmd == "policy set":
		return policySet(ctx, cfg, args[2:], stdout)
	case cmd == "audit tail":
		return auditTail(ctx, cfg, args[2:], stdout)
	case cmd == "identities attribute":
		return identitiesAttribute(ctx, cfg, args[2:], stdout)
	case cmd == "mail list":
		return mailList(ctx, cfg, args[2:], stdout)
	default:
		return cliError{fmt.Sprintf("unknown command %q\n\n%s", strings.Join(args, " "), usage)}
	}
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cliError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return cliError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func serve(ctx context.Context, cfg config, args []string, getenv func(string) string) error {
	if err := parseFlags(newFlags("serve"), args); err != nil {
		return err
	}
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

func usersCreate(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlags("users create")
	email := fs.String("email", "", "the account's email (required)")
	provider := fs.String("provider", "", "link an identity: a configured provider's name, or a type google|github|linkedin|facebook|oidc (no password)")
	subject := fs.String("subject", "", "the provider's subject (user id) for --provider")
	issuer := fs.String("issuer", "", "the identity's issuer for --provider (default: the configured provider's, or the type's public one)")
	admin := fs.Bool("admin", false, "make the account an administrator")
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	pwStdin := fs.Bool("password-stdin", false, "read a password from the first line of standard input")
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return cliError{"users create: --email is required"}
	}
	in := account.CreateUserInput{Email: *email, FirstName: *first, LastName: *last, Admin: *admin, TenantID: *tenant}
	if *provider != "" {
		inst, err := identityInstance(cfg, *provider, *issuer)
		if err != nil {
			return err
		}
		if *subject == "" {
			return cliError{"users create: --provider needs --subject"}
		}
		in.Provider, in.Issuer, in.Subject = inst.Type, inst.Issuer, *subject
		if inst.TenantID != "" && *tenant == "" {
			in.TenantID = inst.TenantID
		}
	} else if *subject != "" || *issuer != "" {
		return cliError{"users create: --subject and --issuer need --provider"}
	}
	if *pwStdin {
		if *provider != "" {
			return cliError{"users create: --password-stdin and --provider exclude each other (an OAuth account starts without a password)"}
		}
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		in.Password = strings.TrimRight(line, "\r\n")
		if in.Password == "" {
			return cliError{"users create: --password-stdin read an empty password"}
		}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.accounts.CreateUser(ctx, in)
	if err != nil {
		return describe(err)
	}
	return json.NewEncoder(stdout).Encode(map[string]any{"id": u.ID, "number": u.Number, "email": u.Email})
}

func usersShow(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("users show")
	email := fs.String("email", "", "the account's email (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return cliError{"users show: --email is required"}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.accounts.UserByEmail(ctx, *email)
	if err != nil {
		return describe(err)
	}
	ids, err := a.accounts.Identities(ctx, u.ID)
	if err != nil {
		return describe(err)
	}
	hasPassword, err := a.accounts.HasPassword(ctx, u.ID)
	if err != nil {
		return describe(err)
	}
	type identity struct {
		Provider string    `json:"provider"`
		Issuer   string    `json:"issuer"`
		Subject  string    `json:"subject"`
		Email    string    `json:"email,omitempty"`
		Created  time.Time `json:"created_at"`
	}
	out := struct {
		ID          string     `json:"id"`
		Number      int64      `json:"number"`
		TenantID    string     `json:"tenant_id"`
		Email       string     `json:"email"`
		FirstName   string     `json:"first_name,omitempty"`
		LastName    string     `json:"last_name,omitempty"`
		Verified    bool       `json:"verified"`
		VerifiedBy  string     `json:"verified_by,omitempty"`
		Active      bool       `json:"active"`
		Admin       bool       `json:"admin"`
		HasPassword bool       `json:"has_password"`
		Identities  []identity `json:"identities"`
		CreatedAt   time.Time  `json:"created_at"`
		UpdatedAt   time.Time  `json:"updated_at"`
	}{u.ID, u.Number, u.TenantID, u.Email, u.FirstName, u.LastName, u.Verified, string(u.VerifiedBy), u.Active, u.Admin, hasPassword, []identity{}, u.CreatedAt, u.UpdatedAt}
	for _, i := range ids {
		out.Identities = append(out.Identities, identity{string(i.Provider), i.Issuer, i.Subject, i.Email, i.CreatedAt})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// scopeList collects a repeatable --scope flag.
type scopeList []string

func (s *scopeList) String() string { return strings.Join(*s, " ") }
func (s *scopeList) Set(v string) error {
	for _, f := range strings.Fields(v) {
		*s = append(*s, f)
	}
	return nil
}

func tokensIssue(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("tokens issue")
	email := fs.String("email", "", "the user's email (required)")
	kind := fs.String("kind", "session", "session, personal or project")
	ttl := fs.Duration("ttl", 0, "lifetime (default: the session TTL, or 30 days for personal and project tokens)")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to grant (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return cliError{"tokens issue: --email is required"}
	}
	k, ok := latch.ParseTokenKind(*kind)
	if !ok {
		return cliError{fmt.Sprintf("tokens issue: unknown --kind %q (want session, personal or project)", *kind)}
	}
	if *ttl < 0 {
		return cliError{"tokens issue: --ttl must be positive"}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	pair, err := a.accounts.IssueToken(ctx, account.IssueTokenInput{Email: *email, Kind: k, Scopes: scopes, TTL: *ttl})
	if err != nil {
		return describe(err)
	}
	_, err = fmt.Fprintln(stdout, pair.AccessToken)
	return err
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
