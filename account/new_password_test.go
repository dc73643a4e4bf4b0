package account

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// TestNewPasswordOrders runs each flow's order of checks (new_password.go)
// without a database: the use case's own steps are stand-ins that answer
// as the case says. Most cases carry two faults at once, and the table
// says which one the flow reports (shared/seeds/README.md fixes the seeds'
// orders).
func TestNewPasswordOrders(t *testing.T) {
	const (
		good   = "Correct-horse-7-battery"
		email  = "alice@example.com"
		maxLen = 64
	)
	long := strings.Repeat("Ab1!", 20) // 80 > maxLen
	// The tenant's policy in these cases: 12 characters, a digit, no
	// common password, nothing built from the email.
	tenant := password.Policy{MinLength: 12, MaxLength: maxLen, RefuseCommon: true, RefuseEmail: true, Require: password.Digit}
	str := func(s string) *string { return &s }

	type faults struct {
		userGone     bool // stepUser: the target does not exist
		currentWrong bool // stepCurrent: current_password is wrong
		reused       bool // stepHistory: one of the last passwords
		hasPassword  bool // stepLoad: the account has a password to prove
	}
	cases := []struct {
		name  string
		order passwordOrder
		in    newPassword
		f     faults
		// want lists the failures as field:code, or one error as
		// error:code when a step ended the request.
		want []string
		// ran lists the use case's steps that must have run (and no
		// others).
		ran []passwordCheck
	}{
		// Seed 001: parameters -> mismatch -> user -> tenant -> policy.
		{"001 both missing", orderAdmin, newPassword{}, faults{},
			[]string{"password:required", "password_confirmation:required"}, nil},
		{"001 missing confirmation beats a too long password", orderAdmin, newPassword{Password: long}, faults{userGone: true},
			[]string{"password_confirmation:required"}, nil},
		{"001 too long beats a mismatch", orderAdmin, newPassword{Password: long, Confirmation: str("other")}, faults{},
			[]string{"password:policy_length"}, nil},
		{"001 mismatch beats an unknown user", orderAdmin, newPassword{Password: good, Confirmation: str(good + "x")}, faults{userGone: true},
			[]string{"password_confirmation:password_mismatch"}, nil},
		{"001 mismatch beats the policy", orderAdmin, newPassword{Password: "short", Confirmation: str("shorter")}, faults{},
			[]string{"password_confirmation:password_mismatch"}, nil},
		{"001 unknown user beats the policy", orderAdmin, newPassword{Password: "short", Confirmation: str("short")}, faults{userGone: true},
			[]string{"error:not_found"}, []passwordCheck{stepUser}},
		{"001 unknown user beats an invisible character", orderAdmin, newPassword{Password: "pass\u200bword", Confirmation: str("pass\u200bword")}, faults{userGone: true},
			[]string{"error:not_found"}, []passwordCheck{stepUser}},
		{"001 invisible character beats the policy", orderAdmin, newPassword{Password: "sh\u200bort", Confirmation: str("sh\u200bort")}, faults{},
			[]string{"password:policy_invisible"}, []passwordCheck{stepUser}},
		{"001 policy, every rule at once, before the history", orderAdmin, newPassword{Password: "alice-pw", Confirmation: str("alice-pw")}, faults{reused: true},
			[]string{"password:policy_length", "password:policy_email", "password:policy_digit"}, []passwordCheck{stepUser}},
		{"001 history last", orderAdmin, newPassword{Password: good, Confirmation: str(good)}, faults{reused: true},
			[]string{"password:policy_history"}, []passwordCheck{stepUser, stepHistory}},
		{"001 confirmation compared after NFKC", orderAdmin, newPassword{Password: "Ｃorrect-horse-7-battery", Confirmation: str(good)}, faults{},
			nil, []passwordCheck{stepUser, stepHistory}},

		// Seed 000: length -> (policy, confirmation, current given) -> current -> history.
		{"000 too long beats a missing confirmation", orderOwn, newPassword{Password: long}, faults{hasPassword: true},
			[]string{"password:policy_length"}, nil},
		{"000 every field's failure together", orderOwn, newPassword{Password: "short", Confirmation: str("other")}, faults{hasPassword: true, currentWrong: true},
			[]string{"password:policy_length", "password:policy_digit", "password_confirmation:password_mismatch", "current_password:current_password_required"},
			[]passwordCheck{stepLoad}},
		{"000 empty: required, nothing else", orderOwn, newPassword{}, faults{},
			[]string{"password:required", "password_confirmation:required"}, []passwordCheck{stepLoad}},
		{"000 a wrong current password beats the history", orderOwn, newPassword{Password: good, Confirmation: str(good), CurrentPassword: str("guess")}, faults{hasPassword: true, currentWrong: true, reused: true},
			[]string{"error:current_password_incorrect"}, []passwordCheck{stepLoad, stepCurrent}},
		{"000 history once proven", orderOwn, newPassword{Password: good, Confirmation: str(good), CurrentPassword: str("right")}, faults{hasPassword: true, reused: true},
			[]string{"password:policy_history"}, []passwordCheck{stepLoad, stepCurrent, stepHistory}},
		{"000 first password needs no current one", orderOwn, newPassword{Password: good, Confirmation: str(good)}, faults{},
			nil, []passwordCheck{stepLoad, stepCurrent, stepHistory}},

		// Seed 002's link: length -> (policy, confirmation) -> history.
		{"002 policy and mismatch together", orderLink, newPassword{Password: "password", Confirmation: str("passwort")}, faults{reused: true},
			[]string{"password:policy_length", "password:policy_common", "password:policy_digit", "password_confirmation:password_mismatch"},
			[]passwordCheck{stepLoad}},
		{"002 missing confirmation", orderLink, newPassword{Password: good}, faults{},
			[]string{"password_confirmation:required"}, []passwordCheck{stepLoad}},

		// Seed 003: length -> (the seed's rules, then the policy's), one per rule.
		{"003 the seed's rules first, a shared rule once", orderFirst, newPassword{Password: "short"}, faults{},
			[]string{"password:policy_length", "password:policy_digit", "password:policy_special"}, []passwordCheck{stepLoad}},
		{"003 the policy's own rules after the seed's", orderFirst, newPassword{Password: "alice-example!"}, faults{},
			[]string{"password:policy_digit", "password:policy_email"}, []passwordCheck{stepLoad}},
		{"003 too long beats the rules", orderFirst, newPassword{Password: strings.Repeat("a", 70)}, faults{},
			[]string{"password:policy_length"}, nil},
		{"003 a good one", orderFirst, newPassword{Password: good}, faults{}, nil, []passwordCheck{stepLoad}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.MaxLength, in.Email = maxLen, email
			if c.order.name == orderFirst.name {
				in.FlowRules = seed003Rules
			}
			var ran []passwordCheck
			steps := map[passwordCheck]passwordStep{
				stepLoad: func(np *newPassword, _ string) ([]latch.Error, error) {
					ran = append(ran, stepLoad)
					p := tenant
					np.Policy, np.MustProveCurrent = &p, c.f.hasPassword
					return nil, nil
				},
				stepUser: func(np *newPassword, _ string) ([]latch.Error, error) {
					ran = append(ran, stepUser)
					if c.f.userGone {
						return nil, &latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound}
					}
					p := tenant
					np.Policy = &p
					return nil, nil
				},
				stepCurrent: func(_ *newPassword, _ string) ([]latch.Error, error) {
					ran = append(ran, stepCurrent)
					if c.f.currentWrong {
						return nil, errCurrentPasswordWrong()
					}
					return nil, nil
				},
				stepHistory: func(_ *newPassword, _ string) ([]latch.Error, error) {
					ran = append(ran, stepHistory)
					if c.f.reused {
						return []latch.Error{historyFailure(5)}, nil
					}
					return nil, nil
				},
			}
			pw, err := checkNewPassword(in, c.order, steps)
			var got []string
			if le := latch.AsError(err); le != nil {
				switch {
				case le.Kind != latch.KindInvalid || le.Code == latch.CodeCurrentPasswordWrong:
					got = []string{"error:" + le.Code}
				default:
					for _, d := range details(err) {
						got = append(got, d.Field+":"+d.Code)
					}
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("failures = %v, want %v", got, c.want)
			}
			if !slices.Equal(ran, c.ran) {
				t.Errorf("steps run = %v, want %v", ran, c.ran)
			}
			if err == nil && pw != password.Normalize(c.in.Password) {
				t.Errorf("password = %q, want the normalised %q", pw, password.Normalize(c.in.Password))
			}
		})
	}
}

// TestEveryOrderIsWrittenOnce keeps each flow's order meaningful: it
// starts with what bounds the work (or the parameters' presence), and
// names each check at most once.
func TestEveryOrderIsWrittenOnce(t *testing.T) {
	for _, o := range []passwordOrder{orderAdmin, orderOwn, orderLink, orderFirst, orderAdminCreate, orderOperator} {
		seen := map[passwordCheck]bool{}
		for _, stage := range o.stages {
			for _, c := range stage {
				if seen[c] {
					t.Errorf("%s: %s twice", o.name, c)
				}
				seen[c] = true
				if c.String() == "" {
					t.Errorf("%s: check %d has no name", o.name, int(c))
				}
			}
		}
		if first := o.stages[0][0]; first != checkTooLong && first != checkRequired && o.name != orderOperator.name {
			t.Errorf("%s starts with %s: the length limit (or the parameters) must come before any work", o.name, first)
		}
		if seen[stepHistory] && !seen[checkPolicy] {
			t.Errorf("%s checks the history without the policy", o.name)
		}
	}
}
