package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// The users commands. The operator acts through the same use cases as the
// admin API, as account.Operator: every permission, audited as the
// operator.

func usersCreateCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --email E",
		Short: "create an account, with a password or a linked provider identity",
		Long: `Create an account and print its id and number as JSON.

--provider takes a configured provider's name (its issuer and tenant follow) or
a type; with a type the issuer is the one configured provider of that type,
else the type's public issuer (Google's, github.com's), and oidc needs
--issuer. Its email counts as asserted by the operator, not proven.`,
		Example: `  latch users create --email ada@example.com --provider google --subject 1234567890
  latch users create --email ada@acme.test --tenant 0199... --password-stdin <<< 'securePassword123!'`,
		Args: noArgs,
	}
	f := cmd.Flags()
	email := f.String("email", "", "the account's email (required)")
	tenant := f.String("tenant", "", "the tenant's id (default: the default tenant)")
	provider := f.String("provider", "", "link an identity: a configured provider's name, or a type google|github|linkedin|facebook|oidc (no password)")
	subject := f.String("subject", "", "the provider's subject (user id) for --provider")
	issuer := f.String("issuer", "", "the identity's issuer for --provider (default: the configured provider's, or the type's public one)")
	admin := f.Bool("admin", false, "make the account an administrator")
	first := f.String("first-name", "", "first name")
	last := f.String("last-name", "", "last name")
	pwStdin := f.Bool("password-stdin", false, "read a password from the first line of standard input")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *email == "" {
			return usageError(cmd, "--email is required")
		}
		cfg, err := inv.config()
		if err != nil {
			return err
		}
		in := account.CreateUserInput{Email: *email, FirstName: *first, LastName: *last, Admin: *admin, TenantID: *tenant}
		if *provider != "" {
			inst, err := identityInstance(cfg, *provider, *issuer)
			if err != nil {
				return err
			}
			if *subject == "" {
				return usageError(cmd, "--provider needs --subject")
			}
			in.Provider, in.Issuer, in.Subject = inst.Type, inst.Issuer, *subject
			if inst.TenantID != "" && *tenant == "" {
				in.TenantID = inst.TenantID
			}
		} else if *subject != "" || *issuer != "" {
			return usageError(cmd, "--subject and --issuer need --provider")
		}
		if *pwStdin {
			if *provider != "" {
				return usageError(cmd, "--password-stdin and --provider exclude each other (an OAuth account starts without a password)")
			}
			line, err := bufio.NewReader(inv.stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			in.Password = strings.TrimRight(line, "\r\n")
			if in.Password == "" {
				return usageError(cmd, "--password-stdin read an empty password")
			}
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.accounts.CreateUser(inv.ctx, in)
		if err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"id": u.ID, "number": u.Number, "email": u.Email})
	}
	return cmd
}

// maxUsersListed bounds users list's -n: a listing for a person or a
// script, not an export.
const maxUsersListed = 10000

func usersListCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list accounts, one JSON line each, oldest first",
		Long: `List accounts, one JSON line each (never a hash), in creation order: every
tenant's, or one tenant's with --tenant. When more accounts exist than -n
allows, a note on stderr says so.`,
		Example: `  latch users list --tenant 0199... -n 500
  latch users list --email ada@example.com`,
		Args: noArgs,
	}
	f := cmd.Flags()
	tenant := f.String("tenant", "", "only this tenant's accounts (default: every tenant's)")
	email := f.String("email", "", "only the account with this email")
	limit := f.IntP("limit", "n", 100, fmt.Sprintf("how many accounts at most (1-%d)", maxUsersListed))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *limit < 1 || *limit > maxUsersListed {
			return usageError(cmd, "-n must be between 1 and %d", maxUsersListed)
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		tenants, err := a.accounts.Tenants(inv.ctx)
		if err != nil {
			return describe(err)
		}
		var ids []string
		for _, t := range tenants {
			if *tenant == "" || t.ID == *tenant {
				ids = append(ids, t.ID)
			}
		}
		if len(ids) == 0 {
			return fmt.Errorf("no tenant has the id %q (latch tenants list shows them)", *tenant)
		}
		enc := json.NewEncoder(inv.stdout)
		printed := 0
		for _, tenantID := range ids {
			cursor := ""
			for {
				// One more than is left to print tells whether more exist.
				page, err := a.accounts.ListUsers(inv.ctx, account.Operator(tenantID), *email, cursor, min(200, *limit-printed+1))
				if err != nil {
					return describe(err)
				}
				for _, u := range page.Users {
					if printed == *limit {
						fmt.Fprintf(inv.stderr, "latch: more accounts than -n %d; raise -n, or narrow with --tenant or --email\n", *limit)
						return nil
					}
					if err := enc.Encode(userLine(u)); err != nil {
						return err
					}
					printed++
				}
				if page.Next == "" {
					break
				}
				cursor = page.Next
			}
		}
		return nil
	}
	return cmd
}

// userLine is a user as one line of a listing.
func userLine(u latch.User) map[string]any {
	return map[string]any{
		"id": u.ID, "number": u.Number, "tenant_id": u.TenantID, "email": u.Email,
		"verified": u.Verified, "active": u.Active, "admin": u.Admin, "created_at": u.CreatedAt,
	}
}

// userSelector is the flags that name one user: --email, --id or
// --number.
type userSelector struct {
	email  string
	id     string
	number int64
}

func addUserSelector(cmd *cobra.Command) *userSelector {
	s := &userSelector{}
	cmd.Flags().StringVar(&s.email, "email", "", "the user's email")
	cmd.Flags().StringVar(&s.id, "id", "", "the user's id (a UUID)")
	cmd.Flags().Int64Var(&s.number, "number", 0, "the user's number (seed 001's user id)")
	return s
}

// check refuses anything but exactly one of the flags.
func (s *userSelector) check(cmd *cobra.Command) error {
	given := 0
	for _, set := range []bool{s.email != "", s.id != "", s.number != 0} {
		if set {
			given++
		}
	}
	if given != 1 {
		return usageError(cmd, "name the user with one of --email, --id or --number")
	}
	if s.number < 0 {
		return usageError(cmd, "--number must be positive")
	}
	return nil
}

// find looks the user up, in every tenant.
func (s *userSelector) find(inv *invocation, a *app) (latch.User, error) {
	var u latch.User
	var err error
	if s.email != "" {
		u, err = a.accounts.UserByEmail(inv.ctx, s.email)
	} else {
		u, err = a.accounts.User(inv.ctx, account.Operator(""), account.UserRef{ID: s.id, Number: s.number})
	}
	if err != nil {
		return latch.User{}, describe(err)
	}
	return u, nil
}

func usersShowCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show --email E | --id ID | --number N",
		Short: "show one account as JSON (never a hash)",
		Args:  noArgs,
	}
	who := addUserSelector(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if who.email == "" && who.id == "" && who.number == 0 {
			return usageError(cmd, "--email is required (or --id, or --number)")
		}
		if err := who.check(cmd); err != nil {
			return err
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := who.find(inv, a)
		if err != nil {
			return err
		}
		ids, err := a.accounts.Identities(inv.ctx, u.ID)
		if err != nil {
			return describe(err)
		}
		hasPassword, err := a.accounts.HasPassword(inv.ctx, u.ID)
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
		return printJSON(inv.stdout, out)
	}
	return cmd
}

func usersDeactivateCommand(inv *invocation) *cobra.Command {
	return setActiveCommand(inv, false, "deactivate", "deactivate an account: it cannot sign in, and every session ends at once",
		`Deactivate an account: sign-ins are refused and every session ends at once
(its access and refresh tokens stop working). The account and its data stay;
latch users activate lets it sign in again (its old sessions stay ended).`)
}

func usersActivateCommand(inv *invocation) *cobra.Command {
	return setActiveCommand(inv, true, "activate", "let a deactivated account sign in again",
		`Let a deactivated account sign in again. Sessions ended by the deactivation stay ended.`)
}

func setActiveCommand(inv *invocation, active bool, name, short, long string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   name + " --email E | --id ID | --number N",
		Short: short,
		Long:  long,
		Args:  noArgs,
	}
	who := addUserSelector(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := who.check(cmd); err != nil {
			return err
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := who.find(inv, a)
		if err != nil {
			return err
		}
		u, err = a.accounts.AdminUpdateUser(inv.ctx, account.Operator(""), account.UserRef{ID: u.ID}, account.AdminUserChange{Active: &active})
		if err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"id": u.ID, "number": u.Number, "email": u.Email, "active": u.Active})
	}
	return cmd
}

func usersDeleteCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete --email E | --id ID | --number N --yes",
		Short: "delete an account and everything that is its own",
		Long: `Delete an account for good: its password, linked identities, sessions and
tokens go with it; the audit log keeps what happened to it. Without --yes
nothing is deleted.`,
		Args: noArgs,
	}
	who := addUserSelector(cmd)
	yes := cmd.Flags().Bool("yes", false, "confirm: the account cannot be restored (except from a backup)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := who.check(cmd); err != nil {
			return err
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := who.find(inv, a)
		if err != nil {
			return err
		}
		if !*yes {
			return usageError(cmd, "this deletes %s (id %s, number %d) with its password, identities and sessions for good; add --yes to confirm", u.Email, u.ID, u.Number)
		}
		if err := a.accounts.AdminDeleteUser(inv.ctx, account.Operator(""), account.UserRef{ID: u.ID}); err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"id": u.ID, "number": u.Number, "email": u.Email, "deleted": true})
	}
	return cmd
}

func sessionsListCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list --email E",
		Short: "list a user's live sessions, newest first, one JSON line each",
		Args:  noArgs,
	}
	email := cmd.Flags().String("email", "", "the user's email (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *email == "" {
			return usageError(cmd, "--email is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.accounts.UserByEmail(inv.ctx, *email)
		if err != nil {
			return describe(err)
		}
		sessions, err := a.accounts.UserSessions(inv.ctx, account.Operator(""), account.UserRef{ID: u.ID})
		if err != nil {
			return describe(err)
		}
		enc := json.NewEncoder(inv.stdout)
		for _, s := range sessions {
			scopes := s.Scopes
			if scopes == nil {
				scopes = []string{}
			}
			if err := enc.Encode(map[string]any{"id": s.ID, "user_id": s.UserID, "kind": s.Kind, "scopes": scopes,
				"created_at": s.CreatedAt, "expires_at": s.ExpiresAt}); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

func sessionsRevokeCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke --email E [--id SESSION_ID]",
		Short: "end a user's sessions (all, or one with --id) at once",
		Long: `End every live session of a user, or the one named by --id: their access and
refresh tokens stop working at once. Prints how many were revoked.`,
		Args: noArgs,
	}
	email := cmd.Flags().String("email", "", "the user's email (required)")
	id := cmd.Flags().String("id", "", "only this session (an id from latch sessions list)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *email == "" {
			return usageError(cmd, "--email is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := a.accounts.UserByEmail(inv.ctx, *email)
		if err != nil {
			return describe(err)
		}
		n, err := a.accounts.RevokeUserSessions(inv.ctx, account.Operator(""), account.UserRef{ID: u.ID}, *id)
		if err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"user_id": u.ID, "revoked": n})
	}
	return cmd
}
