package storetest

import (
	"testing"

	"github.com/latchid/latch"
)

// CredentialHashExists finds stored hashes by LIKE patterns, with an
// exception: how start-up learns which slow hash formats it must answer
// failed sign-ins as slowly as.
func testCredentialHashExists(t *testing.T, st latch.Store) {
	ctx := t.Context()
	const own = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	check := func(like, notLike string, want bool) {
		t.Helper()
		got, err := st.CredentialHashExists(ctx, like, notLike)
		if err != nil || got != want {
			t.Errorf("CredentialHashExists(%q, %q) = %v, %v; want %v", like, notLike, got, err, want)
		}
	}
	check("$argon2%", "", false) // no credentials at all
	createUserWithPassword(t, st, "own@example.com", own)
	check("$argon2%", "", true)
	check("$argon2%", "$argon2id$v=19$m=19456,t=2,p=1$%", false)
	check("$2_$12$%", "", false)
	createUserWithPassword(t, st, "bcrypt@example.com", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW")
	check("$2_$12$%", "", true)
	check("$2_$13$%", "", false)
	check("$argon2%", "$argon2id$v=19$m=19456,t=2,p=1$%", false)
	createUserWithPassword(t, st, "stronger@example.com", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	check("$argon2%", "$argon2id$v=19$m=19456,t=2,p=1$%", true)
}
