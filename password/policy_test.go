package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"securePassword123!", "securePassword123!"},
		{"ｐａｓｓｗｏｒｄ", "password"},   // full-width forms
		{"e\u0301te\u0301", "été"}, // combining accents compose
		{"ﬁnance", "finance"},      // ligature
		{"①②③", "123"},             // circled digits
		{"x\u00a0y", "x y"},        // no-break space
		{"", ""},
	}
	for _, tt := range tests {
		if got := password.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDefaultPolicy(t *testing.T) {
	want := password.Policy{MinLength: 8, MaxLength: 256, RefuseCommon: true, RefuseEmail: true}
	if got := password.DefaultPolicy(); got != want {
		t.Fatalf("DefaultPolicy() = %+v, want %+v", got, want)
	}
}

func TestPolicyCheck(t *testing.T) {
	const (
		short  = "The password must be at least 8 characters."
		long   = "The password may not be greater than 256 characters."
		common = "The password is too common."
		email  = "The password must not contain your email address."
	)
	type failure struct{ code, message string }
	var (
		required  = failure{latch.CodeRequired, "The password field is required."}
		tooShort  = failure{latch.CodePolicyLength, short}
		tooLong   = failure{latch.CodePolicyLength, long}
		isCommon  = failure{latch.CodePolicyCommon, common}
		fromEmail = failure{latch.CodePolicyEmail, email}
	)
	def := password.DefaultPolicy()
	tests := []struct {
		name   string
		policy password.Policy
		pw     string
		email  string
		want   []failure // nil: accepted
	}{
		{"seed example", def, "securePassword123!", "user@example.com", nil},
		{"passphrase", def, "correct horse battery staple", "user@example.com", nil},
		{"empty", def, "", "user@example.com", []failure{required}},
		{"empty, lax policy", password.Policy{}, "", "", []failure{required}},
		{"7 characters", def, "short1!", "user@example.com", []failure{tooShort}},
		{"exactly 8", def, "k3#vR9!q", "user@example.com", nil},
		{"exactly 256", def, strings.Repeat("k3#vR9!q", 32), "user@example.com", nil},
		{"257", def, strings.Repeat("k3#vR9!q", 32) + "x", "user@example.com", []failure{tooLong}},
		// Code points, not bytes: 7 two-byte letters are too short, 8
		// four-byte emoji are long enough.
		{"7 accented letters", def, "ééééééé", "user@example.com", []failure{tooShort}},
		{"8 emoji", def, "🔒🔑🔒🔑🔒🔑🔒🔑", "user@example.com", nil},
		{"password", def, "password", "user@example.com", []failure{isCommon}},
		{"12345678", def, "12345678", "user@example.com", []failure{isCommon}},
		{"qwertyuiop", def, "qwertyuiop", "user@example.com", []failure{isCommon}},
		{"Password (case-insensitive)", def, "Password", "user@example.com", []failure{isCommon}},
		{"PASSWORD123", def, "PASSWORD123", "user@example.com", []failure{isCommon}},
		{"full-width, normalized", def, password.Normalize("ｐａｓｓｗｏｒｄ"), "user@example.com", []failure{isCommon}},
		{"short and common", def, "pass", "user@example.com", []failure{tooShort, isCommon}},
		{"email local part", def, "alice2024!", "alice@example.com", []failure{fromEmail}},
		{"email local part, case and dots", def, "My-Alice.Smith-pw", "Alice.Smith@Example.com", []failure{fromEmail}},
		{"whole email", def, "bo@example.com", "bo@example.com", []failure{fromEmail}},
		{"whole email, punctuation moved", def, "Bo.Example-Com", "BO@example.com", []failure{fromEmail}},
		{"local part under 3 characters is not matched", def, "bob-bo-builder", "bo@example.com", nil},
		{"no email given", def, "alice2024!", "", nil},
		{"short, common and from email", def, "secret1", "secret1@example.com", []failure{tooShort, isCommon, fromEmail}},
		{"common allowed", password.Policy{MinLength: 8, MaxLength: 256, RefuseEmail: true}, "password", "user@example.com", nil},
		{"email allowed", password.Policy{MinLength: 8, MaxLength: 256, RefuseCommon: true}, "alice2024!", "alice@example.com", nil},
		{"zero policy has no bounds", password.Policy{}, "a", "a@example.com", nil},
		{"custom minimum", password.Policy{MinLength: 12}, "k3#vR9!qk3#", "", []failure{{latch.CodePolicyLength, "The password must be at least 12 characters."}}},
		{"custom maximum", password.Policy{MaxLength: 4}, "k3#vR", "", []failure{{latch.CodePolicyLength, "The password may not be greater than 4 characters."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.pw, tt.email)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q, %q) = %v, want nil", tt.pw, tt.email, err)
				}
				return
			}
			var le *latch.Error
			if !errors.As(err, &le) {
				t.Fatalf("Check(%q, %q) = %#v, want *latch.Error", tt.pw, tt.email, err)
			}
			if le.Kind != latch.KindInvalid || le.Field != "password" || le.Code != tt.want[0].code || le.Message != tt.want[0].message {
				t.Fatalf("Check = {%v %q %q %q}, want {invalid password %q %q}",
					le.Kind, le.Field, le.Code, le.Message, tt.want[0].code, tt.want[0].message)
			}
			if len(le.Details) != len(tt.want) {
				t.Fatalf("Check has %d details %+v, want %d", len(le.Details), le.Details, len(tt.want))
			}
			for i, d := range le.Details {
				if d.Kind != latch.KindInvalid || d.Field != "password" || d.Code != tt.want[i].code || d.Message != tt.want[i].message {
					t.Fatalf("Details[%d] = {%v %q %q %q}, want {invalid password %q %q}",
						i, d.Kind, d.Field, d.Code, d.Message, tt.want[i].code, tt.want[i].message)
				}
			}
		})
	}
}

func TestPolicyTooLong(t *testing.T) {
	p := password.Policy{MaxLength: 8}
	tests := []struct {
		name   string
		policy password.Policy
		pw     string
		want   bool
	}{
		{"empty", p, "", false},
		{"at the limit", p, "12345678", false},
		{"one over", p, "123456789", true},
		{"8 four-byte code points", p, strings.Repeat("🔒", 8), false},
		{"9 four-byte code points", p, strings.Repeat("🔒", 9), true},
		{"a megabyte", p, strings.Repeat("a", 1<<20), true},
		{"no maximum", password.Policy{}, strings.Repeat("a", 1<<20), false},
		{"default, 256", password.DefaultPolicy(), strings.Repeat("é", 256), false},
		{"default, 257", password.DefaultPolicy(), strings.Repeat("é", 257), true},
	}
	for _, tt := range tests {
		if got := tt.policy.TooLong(tt.pw); got != tt.want {
			t.Errorf("%s: TooLong = %v, want %v", tt.name, got, tt.want)
		}
		// TooLong and Check agree on what is too long.
		err := tt.policy.Check(tt.pw, "")
		if gotCheck := latch.IsCode(err, latch.CodePolicyLength) && strings.Contains(err.Error(), "greater"); gotCheck != tt.want {
			t.Errorf("%s: Check says too long = %v, TooLong = %v", tt.name, gotCheck, tt.want)
		}
	}
}
