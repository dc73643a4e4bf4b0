package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command line is a cobra tree: every command declares its flags once,
// and the same declaration parses them, prints `--help` and names the flag
// in an error. Cobra, not the standard library's flag package: with some
// thirty commands in fourteen groups, help for groups, `latch help CMD SUB`,
// suggestions for mistyped commands and `--version` were becoming a
// framework of our own; cobra (kubectl's, gh's, hugo's) is the well-kept
// one. Its flags are GNU style (pflag): `--email E`, `-n 20`.

// cliError is a mistake in the command line or the environment: exit
// status 2, with a message that names what is wrong and how to fix it.
type cliError struct{ msg string }

func (e cliError) Error() string { return e.msg }

// invocation is one run of the binary: its streams, its environment and
// the configuration read from it. Commands reach everything through it,
// so a test runs them in-process with its own streams and variables.
type invocation struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    environment

	// cfg and cfgErr are read once, before any command that is not help
	// or version runs (see checkEnvironment).
	cfg    config
	cfgErr error
}

// config is the configuration, or why it is wrong (exit status 1, as
// before: the value of a known variable is wrong, not the command line).
func (inv *invocation) config() (config, error) {
	return inv.cfg, inv.cfgErr
}

// open reads the configuration and wires a Latch (store migrated, keys
// loaded) whose log goes to the invocation's stderr.
func (inv *invocation) open() (*app, error) {
	cfg, err := inv.config()
	if err != nil {
		return nil, err
	}
	return newApp(inv.ctx, cfg, cfg.loggerTo(inv.stderr))
}

// annotationNoConfig marks the commands that run whatever the environment
// holds: help and version must answer even when it is wrong.
const annotationNoConfig = "latch.no-config"

// newCommandLine builds the whole command tree for one invocation.
func newCommandLine(inv *invocation) *cobra.Command {
	root := &cobra.Command{
		Use:   "latch",
		Short: "Latch, a self-hostable identity service, and its operator commands",
		Long: `Latch is a self-hostable identity service in one binary, and its operator's
command line. Every command reads the same LATCH_* environment variables
(see README.md, Configuration); a LATCH_* variable Latch does not know stops
it with exit status 2.`,
		Version: moduleVersion(readBuildInfo()),
		// Errors are printed once, by run, with the command's name;
		// cobra's usage dump after an error hides the message.
		SilenceErrors: true,
		SilenceUsage:  true,
		// Alone, latch prints its help: like help, it answers whatever
		// the environment holds.
		Annotations: map[string]string{annotationNoConfig: "true"},
		Args:        subcommandArgs,
		RunE:        func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if _, skip := cmd.Annotations[annotationNoConfig]; skip {
				return nil
			}
			return inv.checkEnvironment()
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(helpCommand(root))
	root.AddCommand(
		serveCommand(inv),
		migrateCommand(inv),
		backupCommand(inv),
		versionCommand(inv),
		group("users", "manage accounts: create, list, show, deactivate, activate, delete, reset-factors",
			usersCreateCommand(inv), usersListCommand(inv), usersShowCommand(inv),
			usersDeactivateCommand(inv), usersActivateCommand(inv), usersDeleteCommand(inv),
			usersResetFactorsCommand(inv)),
		group("sessions", "list and revoke a user's sessions",
			sessionsListCommand(inv), sessionsRevokeCommand(inv)),
		group("identities", "the outside identities linked to accounts",
			identitiesAttributeCommand(inv)),
		group("tokens", "issue access tokens", tokensIssueCommand(inv)),
		group("keys", "the keys that sign access tokens: list, rotate",
			keysListCommand(inv), keysRotateCommand(inv)),
		group("tenants", "manage tenants (seed 001's accounts)",
			tenantsCreateCommand(inv), tenantsListCommand(inv)),
		group("clients", "manage API clients",
			clientsCreateCommand(inv), clientsListCommand(inv), clientsRevokeCommand(inv)),
		group("apps", "manage apps that sign their users in through Latch (OpenID Connect clients)",
			appsCreateCommand(inv), appsListCommand(inv), appsShowCommand(inv), appsUpdateCommand(inv),
			appsRotateSecretCommand(inv), appsRevokeCommand(inv)),
		group("policy", "a tenant's password and second-factor policies", policyShowCommand(inv), policySetCommand(inv),
			policyShowFactorsCommand(inv), policySetFactorsCommand(inv)),
		group("audit", "the audit log", auditTailCommand(inv)),
		group("mail", "the outbox", mailListCommand(inv)),
		benchCommand(inv),
		trivialServerCommand(inv),
	)
	for _, c := range allCommands(root) {
		// Flags are listed in the order each command declares them:
		// required ones first, as the usage line shows them.
		c.Flags().SortFlags = false
	}
	return root
}

// group is a command that only holds subcommands: alone it prints its
// help; with an unknown subcommand it fails and suggests the nearest.
func group(name, short string, subcommands ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{
		Use:         name + " <command>",
		Short:       short,
		Annotations: map[string]string{annotationNoConfig: "true"},
		Args:        subcommandArgs,
		RunE:        func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	g.AddCommand(subcommands...)
	return g
}

// subcommandArgs refuses whatever stands where a subcommand should, with
// the nearest names.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if near := nearest(args[0], names, 2); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", strings.TrimPrefix(cmd.CommandPath()+" "+near, "latch "))
	}
	return cliError{fmt.Sprintf("%s\n%s has: %s (%s --help)", msg, cmd.CommandPath(), strings.Join(names, ", "), cmd.CommandPath())}
}

// noArgs is for commands that take flags only.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cliError{fmt.Sprintf("%s: unexpected argument %q (it takes flags only; %s --help)", commandName(cmd), args[0], cmd.CommandPath())}
	}
	return nil
}

// usageError is a command's own check of its flags failing.
func usageError(cmd *cobra.Command, format string, a ...any) error {
	return cliError{commandName(cmd) + ": " + fmt.Sprintf(format, a...)}
}

// commandName is the command as errors name it, after run's "latch: ".
func commandName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// flagError turns pflag's parse errors into ones that name the flag and
// the fix.
func flagError(cmd *cobra.Command, err error) error {
	path := commandName(cmd)
	hint := fmt.Sprintf("(%s --help lists its flags)", cmd.CommandPath())
	var notExist *pflag.NotExistError
	var needsValue *pflag.ValueRequiredError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist):
		name := notExist.GetSpecifiedName()
		if short := notExist.GetSpecifiedShortnames(); short != "" {
			// -email: the standard library's flags took one dash.
			if f := cmd.Flags().Lookup(short); f != nil && len(short) > 1 {
				return cliError{fmt.Sprintf("%s: unknown flag -%s: long flags take two dashes: --%s", path, short, short)}
			}
			return cliError{fmt.Sprintf("%s: unknown flag -%s %s", path, name, hint)}
		}
		if near := nearestFlag(cmd, name); near != "" {
			return cliError{fmt.Sprintf("%s: unknown flag --%s; did you mean --%s? %s", path, name, near, hint)}
		}
		return cliError{fmt.Sprintf("%s: unknown flag --%s %s", path, name, hint)}
	case errors.As(err, &needsValue):
		f := needsValue.GetFlag()
		return cliError{fmt.Sprintf("%s: --%s needs a value %s", path, f.Name, hint)}
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		return cliError{fmt.Sprintf("%s: --%s %q: want %s %s", path, f.Name, invalid.GetValue(), valueKind(f), hint)}
	}
	return cliError{fmt.Sprintf("%s: %v %s", path, err, hint)}
}

// nearestFlag is the command's flag closest to a mistyped name, or "".
func nearestFlag(cmd *cobra.Command, name string) string {
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	return nearest(name, names, max(2, len(name)/3))
}

func valueKind(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "uint":
		return "a whole number"
	case "duration":
		return "a duration such as 30s, 15m or 2h"
	case "bool":
		return "true or false"
	}
	return "a " + f.Value.Type()
}

// helpCommand is `latch help [command [subcommand]]`: the same help as
// --help; an unknown command is an error (cobra's own prints the root's
// help and exits 0).
func helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:         "help [command [subcommand]]",
		Short:       "help about any command",
		Annotations: map[string]string{annotationNoConfig: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || target == nil {
				target = root
				rest = args
			}
			if len(rest) > 0 {
				return subcommandArgs(target, rest)
			}
			target.InitDefaultHelpFlag() // listed as --help shows it
			return target.Help()
		},
	}
}

// allCommands is root and every command below it.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}

// nearest returns the candidate closest to name within maxDistance
// (optimal string alignment: a swap of two neighbours counts one), or "".
func nearest(name string, candidates []string, maxDistance int) string {
	best, bestDistance := "", maxDistance+1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := editDistance(name, c); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent characters.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	prev2 := make([]int, len(t)+1)
	prev := make([]int, len(t)+1)
	cur := make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(t)]
}
