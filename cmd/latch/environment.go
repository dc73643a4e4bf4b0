package main

import (
	"fmt"
	"slices"
	"strings"
)

// environment is the process's variables, as run was given them.
type environment struct {
	vars map[string]string
}

func newEnvironment(environ []string) environment {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			vars[name] = value
		}
	}
	return environment{vars: vars}
}

// Getenv is os.Getenv over this environment.
func (e environment) Getenv(name string) string { return e.vars[name] }

// latchNames are the environment's LATCH_* names, sorted.
func (e environment) latchNames() []string {
	var names []string
	for name := range e.vars {
		if strings.HasPrefix(name, "LATCH_") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// readRecorder is a getenv that remembers every name asked for: whatever
// loadConfig reads is known, with nothing to keep in step by hand, the
// variables of each provider named in LATCH_PROVIDERS included.
type readRecorder struct {
	getenv func(string) string
	read   map[string]bool
}

func newReadRecorder(getenv func(string) string) *readRecorder {
	return &readRecorder{getenv: getenv, read: map[string]bool{}}
}

func (r *readRecorder) Getenv(name string) string {
	r.read[name] = true
	return r.getenv(name)
}

// Variables read by parts of Latch other than loadConfig. Each name here is
// read somewhere else, and must be.
const (
	// latch bench: kept out of the process list and shell history.
	envBenchPassword = "LATCH_BENCH_PASSWORD"
	envBenchToken    = "LATCH_BENCH_TOKEN"
)

// readElsewhere are the LATCH_* variables that are not configuration but
// still Latch's: the load generator's secrets, and those of the test suite
// and scripts/measure.sh, which run the binary with their own environment
// (the tests' are all LATCH_TEST_*, but for the screenshots' folder).
func readElsewhere(name string) bool {
	switch name {
	case envBenchPassword, envBenchToken, "LATCH_ARTIFACTS_DIR", "LATCH_MEASURE_PORT":
		return true
	}
	return strings.HasPrefix(name, "LATCH_TEST_")
}

// unknownVariables returns one line for each LATCH_* variable of env
// that is neither read (by loadConfig) nor readElsewhere, with the known
// name it most likely misspells.
func unknownVariables(env environment, read map[string]bool) []string {
	var known []string
	for name := range read {
		if strings.HasPrefix(name, "LATCH_") {
			known = append(known, name)
		}
	}
	known = append(known, envBenchPassword, envBenchToken)
	var lines []string
	for _, name := range env.latchNames() {
		if read[name] || readElsewhere(name) {
			continue
		}
		line := "unknown variable " + name
		near := nearest(name, known, max(2, len(strings.TrimPrefix(name, "LATCH_"))/4))
		provider, isProviders := providerOfVariable(name)
		if isProviders && !slices.ContainsFunc(known, func(k string) bool { return strings.HasPrefix(k, providerPrefix(provider)) }) {
			// A provider not configured: a misspelling of one that is
			// (GOOGEL for GOOGLE), or one missing from LATCH_PROVIDERS,
			// but not another provider's variable (GITHUB for GOOGLE).
			if other, ok := providerOfVariable(near); ok && editDistance(provider, other) > 2 {
				near = ""
			}
		}
		if near != "" {
			line += "; did you mean " + near + "?"
		} else if isProviders {
			line += fmt.Sprintf("; provider %q is not in LATCH_PROVIDERS (%s): add it there, or unset the variable", provider, listedProviders(env))
		} else {
			line += "; Latch reads no variable by that name (README.md, Configuration, lists them)"
		}
		lines = append(lines, line)
	}
	return lines
}

// providerOfVariable is the provider name in LATCH_PROVIDER_<NAME>_<KEY>.
func providerOfVariable(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "LATCH_PROVIDER_")
	if !ok {
		return "", false
	}
	for _, key := range []string{"TYPE", "CLIENT_ID", "CLIENT_SECRET", "ISSUER", "SCOPES", "TENANT", "AUTH_URL", "TOKEN_URL", "API_URL"} {
		if p, ok := strings.CutSuffix(rest, "_"+key); ok && p != "" {
			return strings.ToLower(strings.ReplaceAll(p, "_", "-")), true
		}
	}
	return "", false
}

// checkEnvironment reads the configuration through a recorder and refuses
// every LATCH_* variable it did not read: a misspelled variable would
// otherwise be ignored without a word (LATCH_DATBASE_URL starting Latch
// on SQLite). An unknown variable is exit status 2; a known one with a
// wrong value stays the configuration error it was (exit status 1, when
// a command needs the configuration).
func (inv *invocation) checkEnvironment() error {
	rec := newReadRecorder(inv.env.Getenv)
	inv.cfg, inv.cfgErr = loadConfig(rec.Getenv)
	if lines := unknownVariables(inv.env, rec.read); len(lines) > 0 {
		return cliError{strings.Join(lines, "\n")}
	}
	return nil
}

func listedProviders(env environment) string {
	if v := strings.TrimSpace(env.Getenv("LATCH_PROVIDERS")); v != "" {
		return "which is " + v
	}
	return "which is empty"
}
