package password_test

import (
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

// MeasureVerifyCosts estimates each format's slowest verification from a
// cheaper run. The estimate must not fall short of the real thing (the
// floor built on it would then let slow accounts show); it may be over.
// Times on a shared machine vary, so the bound is loose: it catches a
// wrong model (a forgotten factor), not a few percent.
func TestMeasureVerifyCostsCoversTheImportCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several seconds of real hashing")
	}
	for name, encoded := range worstImports {
		if err := password.CheckImport(encoded); err != nil {
			t.Fatalf("%s: not at the import caps: %v", name, err)
		}
	}
	actual := map[string]time.Duration{}
	for name, encoded := range worstImports {
		start := time.Now()
		ok, _, err := password.Verify("not the password", encoded, password.DefaultParams())
		actual[name] = time.Since(start)
		if err != nil || ok {
			t.Fatalf("%s: %v %v", name, ok, err)
		}
	}
	c := password.MeasureVerifyCosts(password.DefaultParams())
	t.Logf("measured %v; estimated %+v", actual, c)
	for name, est := range map[string]time.Duration{"argon2": c.Argon2, "bcrypt": c.Bcrypt, "scrypt": c.Scrypt, "pbkdf2": c.PBKDF2} {
		if est < actual[name]*6/10 {
			t.Errorf("%s: estimated %v, one verification took %v", name, est, actual[name])
		}
	}
	if c.Slowest() < max(c.Own, c.Argon2, c.Bcrypt, c.Scrypt, c.PBKDF2) || c.Own <= 0 {
		t.Errorf("Slowest %v of %+v", c.Slowest(), c)
	}
}
