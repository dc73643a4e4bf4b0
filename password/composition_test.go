package password_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

func codes(err error) []string {
	le := latch.AsError(err)
	if le == nil {
		return nil
	}
	var out []string
	for _, d := range le.Details {
		out = append(out, d.Code)
	}
	sort.Strings(out)
	return out
}

func TestCompositionRules(t *testing.T) {
	strict := password.DefaultPolicy()
	strict.Require = password.Lower | password.Upper | password.Digit | password.Special
	cases := []struct {
		password string
		want     []string
	}{
		{"securePassword123!", nil}, // the seeds' own example passes
		{"Tr0ub4dor&3-horse", nil},
		{"Ünïcode§Pass9", nil},
		{"alllowercase", []string{latch.CodePolicyDigit, latch.CodePolicySpecial, latch.CodePolicyUpper}},
		{"ALLUPPER123!!", []string{latch.CodePolicyLower}},
		{"NoDigitsHere!", []string{latch.CodePolicyDigit}},
		{"NoSpecial123x", []string{latch.CodePolicySpecial}},
		{"Bad^Special1a", []string{latch.CodePolicySpecial, latch.CodePolicySpecialInvalid}},
		{"Mixed^And!1a", []string{latch.CodePolicySpecialInvalid}},
		{"Sh0rt!", []string{latch.CodePolicyLength}},
	}
	for _, c := range cases {
		got := codes(strict.Check(c.password, "someone@example.com"))
		sort.Strings(c.want)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%q: %v, want %v", c.password, got, c.want)
		}
	}
	custom := strict
	custom.Specials = "^"
	if got := codes(custom.Check("Caret^Only1", "")); got != nil {
		t.Errorf("custom specials: %v", got)
	}
	if got := codes(custom.Check("Bang!Only1", "")); strings.Join(got, ",") != "policy_special,policy_special_invalid" {
		t.Errorf("custom specials, other symbol: %v", got)
	}
	// The default policy has no composition rules and no score.
	if err := password.DefaultPolicy().Check("alllowercase words", "x@example.com"); err != nil {
		t.Errorf("default policy: %v", err)
	}
}

func TestMinimumScore(t *testing.T) {
	p := password.DefaultPolicy()
	p.MinScore = 3
	if got := codes(p.Check("abcdefgh1", "")); strings.Join(got, ",") != latch.CodePolicyWeak {
		t.Errorf("weak password: %v", got)
	}
	if err := p.Check("correct horse battery staple river", ""); err != nil {
		t.Errorf("strong password: %v", err)
	}
}

func TestMatchesAny(t *testing.T) {
	ctx := context.Background()
	h, err := password.NewHasher(password.Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var history []string
	for _, pw := range []string{"first one", "second one", "third one"} {
		hash, _ := h.Hash(ctx, pw)
		history = append(history, hash)
	}
	for pw, want := range map[string]bool{"first one": true, "third one": true, "fourth one": false} {
		got, err := h.MatchesAny(ctx, pw, history)
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", pw, got, err, want)
		}
	}
	if _, err := h.MatchesAny(ctx, "x", []string{"not a hash"}); err == nil {
		t.Error("a corrupt history entry went unnoticed")
	}
}
