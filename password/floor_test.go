package password_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/password"
)

// The slowest hash of each import format, at CheckImport's caps, for the
// password "the imported password" (computed once; computing them here
// would double the test's time).
var worstImports = map[string]string{
	"argon2": "$argon2id$v=19$m=65536,t=10,p=1$d29yc3QtY2FzZS1zYWx0IQ$EU6Y/yqm9GJ1t/vuMpk45IH1md4v8oYus0yvPxNxTIw",
	"bcrypt": "$2a$14$2lgDGnfBdg0u0KM628WLy.Irjv9qd.swmmpJy37RvfycPusRLiEGS",
	"scrypt": "$scrypt$ln=19,r=1,p=4$d29yc3QtY2FzZS1zYWx0IQ$TPEih2WKk9Mo6TduQIJThw7SebgPmIjDlhP46UJ910A",
	"pbkdf2": "$pbkdf2-sha256$2000000$d29yc3QtY2FzZS1zYWx0IQ$pmOXqvK6Akc55QbSuRNJePZxIsAzlyFY1cBzqi8pILs",
}

// Estimate scales each format's cost at the import caps (or argon2id's at
// the service's own parameters) by a stored hash's own parameters, and
// gives anything it cannot read the slowest cost.
func TestEstimate(t *testing.T) {
	for name, encoded := range worstImports {
		if err := password.CheckImport(encoded); err != nil {
			t.Fatalf("%s: not within the import caps: %v", name, err)
		}
	}
	own := password.DefaultParams()
	c := password.VerifyCosts{Own: 40 * time.Millisecond, Argon2: 600 * time.Millisecond, Bcrypt: 1600 * time.Millisecond,
		Scrypt: 2000 * time.Millisecond, PBKDF2: 400 * time.Millisecond}
	ownHash, err := password.Hash("a password", own)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, encoded string
		want          time.Duration
	}{
		{"argon2 at the import caps", worstImports["argon2"], 40 * time.Millisecond * (65536 * 10) / time.Duration(own.MemoryKiB*own.Time)},
		{"argon2id at the own parameters", ownHash, 40 * time.Millisecond},
		{"bcrypt 14", worstImports["bcrypt"], 1600 * time.Millisecond},
		{"bcrypt 12", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", 400 * time.Millisecond},
		{"scrypt at the caps", worstImports["scrypt"], 2000 * time.Millisecond},
		{"pbkdf2 at the caps", worstImports["pbkdf2"], 400 * time.Millisecond},
		{"pbkdf2 at a tenth", "$pbkdf2-sha256$200000$d29yc3QtY2FzZS1zYWx0IQ$pmOXqvK6Akc55QbSuRNJePZxIsAzlyFY1cBzqi8pILs", 40 * time.Millisecond},
		{"unreadable", "$2b$99$nonsense", 2000 * time.Millisecond},
	} {
		if got := c.Estimate(tc.encoded, own); (got - tc.want).Abs() > time.Millisecond {
			t.Errorf("%s: Estimate = %v, want %v", tc.name, got, tc.want)
		}
	}
	// The stored-hash classes: own argon2id is excluded, bcrypt comes
	// costliest first, and each class costs what its slowest member may.
	classes := c.StoredHashClasses(own)
	if classes[0].NotLike == "" || !strings.HasPrefix(ownHash, strings.TrimSuffix(classes[0].NotLike, "%")) {
		t.Errorf("the argon2 class does not exclude own hashes: %+v", classes[0])
	}
	var bcrypts []password.StoredHashClass
	for _, cl := range classes {
		if strings.HasPrefix(cl.Like, "$2_$") {
			bcrypts = append(bcrypts, cl)
		}
	}
	if len(bcrypts) != 11 || bcrypts[0].Like != "$2_$14$%" || bcrypts[0].Slowest != c.Bcrypt || bcrypts[2].Slowest != c.Bcrypt/4 {
		t.Errorf("bcrypt classes: %+v", bcrypts)
	}
}

// BenchmarkVerifyCostModel checks MeasureVerifyCosts' model against real
// verifications at the import caps, as ratios (actual/estimate; at most
// 1 keeps the floor above the real thing). Times on a shared machine vary,
// so this is a benchmark to read, not a test to fail: `go test -run '^$'
// -bench VerifyCostModel ./password`.
func BenchmarkVerifyCostModel(b *testing.B) {
	for range b.N {
		c := password.MeasureVerifyCosts(password.DefaultParams())
		for name, est := range map[string]time.Duration{"argon2": c.Argon2, "bcrypt": c.Bcrypt, "scrypt": c.Scrypt, "pbkdf2": c.PBKDF2} {
			start := time.Now()
			if ok, _, err := password.Verify("not the password", worstImports[name], password.DefaultParams()); err != nil || ok {
				b.Fatalf("%s: %v %v", name, ok, err)
			}
			b.ReportMetric(float64(time.Since(start))/float64(est), name+"-actual/estimate")
		}
	}
}
