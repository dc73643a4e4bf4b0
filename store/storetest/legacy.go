package storetest

import (
	"testing"
	"time"

	"github.com/latchid/latch"
)

// LegacyRefresh is what a backend's migration test stores at migration 12
// (one row per refresh token) before it migrates up and calls
// CheckLegacyRefresh: a live session Rotating whose token LegacyUnused is
// unused, and a live session Reused whose token LegacyUsed was used
// (LegacyUsedAt) into LegacyUnusedB, which is unused. Both sessions expire
// at LegacyExpiry.
type LegacyRefresh struct {
	UserID, Rotating, Reused string
}

var (
	LegacyUnused  = []byte("legacy-unused")
	LegacyUsed    = []byte("legacy-used")
	LegacyUnusedB = []byte("legacy-unused-b")
	LegacyUsedAt  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	LegacyExpiry  = LegacyUsedAt.Add(24 * time.Hour)
)

// CheckLegacyRefresh checks that sessions begun before migration 13 keep
// refreshing: an unused legacy token rotates once into generation 1 of
// the session row's chain, which then rotates as any chain; the same
// client again within the interval gets the session; the legacy token
// again after it, or a used one, is a reuse and revokes.
func CheckLegacyRefresh(t *testing.T, st latch.Store, l LegacyRefresh) {
	t.Helper()
	ctx := t.Context()
	const interval = 10 * time.Second
	now := LegacyUsedAt.Add(time.Hour)
	gen1 := []byte("gen1-" + l.Rotating)
	next := func(sessionID string) []byte {
		if sessionID != l.Rotating {
			t.Errorf("successor asked for session %s, want %s", sessionID, l.Rotating)
		}
		return gen1
	}
	for _, when := range []time.Time{now, now.Add(time.Second)} { // the second: the same client again
		got, err := st.RotateLegacyRefreshToken(ctx, LegacyUnused, next, when, interval)
		if err != nil {
			t.Fatalf("legacy token at %v: %v", when, err)
		}
		if got.ID != l.Rotating || got.UserID != l.UserID {
			t.Fatalf("legacy token answered session %+v", got)
		}
	}
	// Generation 1 is on the session row now, and rotates.
	if _, err := st.RotateRefreshToken(ctx, presentation(l.Rotating, 1, gen1, now.Add(2*time.Second), interval)); err != nil {
		t.Fatalf("generation 1: %v", err)
	}
	if _, err := st.RotateRefreshToken(ctx, presentation(l.Rotating, 2, nextLink(gen1), now.Add(3*time.Second), interval)); err != nil {
		t.Fatalf("generation 2: %v", err)
	}
	// The legacy token again, its successor rotated since: a reuse.
	_, err := st.RotateLegacyRefreshToken(ctx, LegacyUnused, next, now.Add(4*time.Second), interval)
	wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
	equal(t, "the rotating session after reuse", session(t, st, l.Rotating).RevokedAt, storedPtr(now.Add(4*time.Second)))

	// A token used before the migration, presented again: a reuse.
	_, err = st.RotateLegacyRefreshToken(ctx, LegacyUsed, func(string) []byte { return []byte("x") }, now, interval)
	wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
	equal(t, "the reused session", session(t, st, l.Reused).RevokedAt, storedPtr(now))
	_, err = st.RotateLegacyRefreshToken(ctx, []byte("legacy-unknown"), next, now, interval)
	wantNotFound(t, err)
}
