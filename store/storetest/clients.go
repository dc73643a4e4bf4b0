package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// The conformance tests of latch.ClientStore: API clients and the grants
// they hold, rotated and reused as users' refresh tokens are.

// newClient returns a client of tenantID with a fresh id, not yet stored.
func newClient(t *testing.T, tenantID string, created time.Time) latch.Client {
	return latch.Client{
		ID: "cli_" + strings.ReplaceAll(newID(t), "-", ""), TenantID: tenantID, Name: "client",
		Scope: latch.ScopeManageUsers, SecretHash: []byte("secret-hash"), CreatedAt: created,
	}
}

func createClient(t *testing.T, st latch.Store, tenantID string) latch.Client {
	t.Helper()
	c := newClient(t, tenantID, at(0))
	if err := st.CreateClient(t.Context(), c, nil); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	c.CreatedAt = stored(c.CreatedAt)
	return c
}

// createClientToken stores a grant of clientID, created at(0), expiring
// at(60).
func createClientToken(t *testing.T, st latch.Store, clientID, refresh string) latch.ClientToken {
	t.Helper()
	tok := latch.ClientToken{ID: newID(t), ClientID: clientID, RefreshHash: []byte(refresh), CreatedAt: at(0), ExpiresAt: at(60)}
	if err := st.CreateClientToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateClientToken: %v", err)
	}
	tok.CreatedAt, tok.ExpiresAt = stored(tok.CreatedAt), stored(tok.ExpiresAt)
	return tok
}

func clientToken(t *testing.T, st latch.Store, id string) (latch.ClientToken, latch.Client) {
	t.Helper()
	tok, c, err := st.ClientTokenWithClient(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientTokenWithClient(%s): %v", id, err)
	}
	checkTimes(t, "ClientToken", tok)
	checkTimes(t, "Client", c)
	return tok, c
}

func client(t *testing.T, st latch.Store, id string) latch.Client {
	t.Helper()
	c, err := st.ClientByID(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientByID(%s): %v", id, err)
	}
	checkTimes(t, "Client", c)
	return c
}

func testClientRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Clients")
	in := latch.Client{
		ID: "cli_Round-Trip.1", TenantID: strings.ToUpper(tn.ID), Name: "CI deploys", Scope: latch.ScopeManageAll,
		Super: true, SecretHash: []byte{0x00, 0x01, 0xfe, 0xff}, CreatedAt: at(0),
	}
	ev := latch.AuditEvent{TenantID: tn.ID, At: at(0), Action: latch.AuditClientCreate, ActorType: latch.ActorOperator, TargetID: in.ID}
	if err := st.CreateClient(ctx, in, &ev); err != nil {
		t.Fatal(err)
	}
	want := in
	want.TenantID, want.CreatedAt = tn.ID, stored(at(0))
	equal(t, "ClientByID", client(t, st, in.ID), want)
	if !want.Live() {
		t.Error("a new client is not live")
	}

	// Client ids are opaque: kept as given, even when they look like a
	// UUID, and compared exactly.
	for _, id := range []string{strings.ToUpper(newID(t)), "{" + newID(t) + "}"} {
		c := newClient(t, tn.ID, at(1))
		c.ID = id
		if err := st.CreateClient(ctx, c, nil); err != nil {
			t.Fatalf("CreateClient(%q): %v", id, err)
		}
		if got := client(t, st, id); got.ID != id {
			t.Errorf("client id %q came back as %q", id, got.ID)
		}
		_, err := st.ClientByID(ctx, strings.ToLower(strings.Trim(id, "{}")))
		wantNotFound(t, err)
	}
	_, err := st.ClientByID(ctx, strings.ToUpper(in.ID))
	wantNotFound(t, err)

	// Stored already revoked; oldest first in the listing.
	old := newClient(t, tn.ID, at(-5))
	old.Scope, old.RevokedAt = latch.ScopeReadUsers, new(at(-1))
	if err := st.CreateClient(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	old.CreatedAt, old.RevokedAt = stored(old.CreatedAt), storedPtr(at(-1))
	equal(t, "revoked client", client(t, st, old.ID), old)
	cs, err := st.Clients(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 4 || cs[0].ID != old.ID || cs[1].ID != in.ID {
		t.Errorf("Clients = %+v, want the oldest first", cs)
	}

	dup := newClient(t, tn.ID, at(2))
	dup.ID = in.ID
	wantError(t, st.CreateClient(ctx, dup, &latch.AuditEvent{Action: latch.AuditClientCreate}), latch.KindConflict, latch.CodeAlreadyExists)
	equal(t, "client after a duplicate", client(t, st, in.ID), want)
	for _, tc := range []struct {
		name   string
		mutate func(*latch.Client)
		kind   latch.Kind
	}{
		{"unknown tenant", func(c *latch.Client) { c.TenantID = newID(t) }, latch.KindNotFound},
		{"malformed tenant", func(c *latch.Client) { c.TenantID = "acme" }, latch.KindNotFound},
		{"no id", func(c *latch.Client) { c.ID = "" }, latch.KindInvalid},
		{"id not UTF-8", func(c *latch.Client) { c.ID = "cli_\xff" }, latch.KindInvalid},
		{"unknown scope", func(c *latch.Client) { c.Scope = "root" }, latch.KindInvalid},
		{"no secret", func(c *latch.Client) { c.SecretHash = nil }, latch.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tn.ID, at(3))
			tc.mutate(&c)
			err := st.CreateClient(ctx, c, nil)
			if !latch.IsKind(err, tc.kind) {
				t.Fatalf("CreateClient: %v, want %s", err, tc.kind)
			}
			if c.ID != "" {
				_, err = st.ClientByID(ctx, c.ID)
				wantNotFound(t, err)
			}
		})
	}
	for _, id := range []string{"", "cli_unknown", "cli_\x00", "\xff"} {
		_, err := st.ClientByID(ctx, id)
		wantNotFound(t, err)
	}
	wantEvents(t, "client events", events(t, st, latch.AuditQuery{Action: latch.AuditClientCreate}), ev)
}

func testRevokeClient(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	other := createClient(t, st, latch.DefaultTenantID)
	ev := latch.AuditEvent{TenantID: latch.DefaultTenantID, At: at(3), Action: latch.AuditClientRevoke, TargetID: c.ID}
	if err := st.RevokeClient(ctx, c.ID, at(3), &ev); err != nil {
		t.Fatal(err)
	}
	want := c
	want.RevokedAt = storedPtr(at(3))
	got := client(t, st, c.ID)
	equal(t, "revoked client", got, want)
	if got.Live() {
		t.Error("revoked client is live")
	}
	// Again: no error, and the first time stays.
	if err := st.RevokeClient(ctx, c.ID, at(9), nil); err != nil {
		t.Fatal(err)
	}
	equal(t, "client revoked twice", client(t, st, c.ID), want)
	equal(t, "another client", client(t, st, other.ID), other)
	for _, id := range []string{"", "cli_unknown", strings.ToUpper(c.ID), "\x00"} {
		wantNotFound(t, st.RevokeClient(ctx, id, at(4), &latch.AuditEvent{Action: latch.AuditClientRevoke}))
	}
	wantEvents(t, "revocation events", events(t, st, latch.AuditQuery{Action: latch.AuditClientRevoke}), ev)
}

func testClientTokenRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	in := latch.ClientToken{ID: strings.ToUpper(newID(t)), ClientID: c.ID, RefreshHash: []byte{0, 1, 2, 0xff},
		CreatedAt: at(0), ExpiresAt: at(60)}
	if err := st.CreateClientToken(ctx, in); err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID, want.CreatedAt, want.ExpiresAt = strings.ToLower(in.ID), stored(at(0)), stored(at(60))
	tok, gc := clientToken(t, st, "{"+in.ID+"}")
	equal(t, "ClientToken", tok, want)
	equal(t, "its Client", gc, c)
	if !tok.Live(at(59)) || tok.Live(at(60)) {
		t.Error("Live is wrong around ExpiresAt")
	}

	// Created revoked.
	revoked := latch.ClientToken{ID: newID(t), ClientID: c.ID, RefreshHash: []byte("ct-revoked"), CreatedAt: at(0), ExpiresAt: at(60), RevokedAt: new(at(1))}
	if err := st.CreateClientToken(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	tok, _ = clientToken(t, st, revoked.ID)
	equal(t, "RevokedAt", tok.RevokedAt, storedPtr(at(1)))

	for _, tc := range []struct {
		name   string
		mutate func(*latch.ClientToken)
		kind   latch.Kind
	}{
		{"duplicate id", func(t *latch.ClientToken) { t.ID = want.ID }, latch.KindConflict},
		{"duplicate refresh hash", func(t *latch.ClientToken) { t.RefreshHash = in.RefreshHash }, latch.KindConflict},
		{"unknown client", func(t *latch.ClientToken) { t.ClientID = "cli_unknown" }, latch.KindNotFound},
		{"no client", func(t *latch.ClientToken) { t.ClientID = "" }, latch.KindNotFound},
		{"malformed id", func(t *latch.ClientToken) { t.ID = "grant-1" }, latch.KindInvalid},
		{"no id", func(t *latch.ClientToken) { t.ID = "" }, latch.KindInvalid},
		{"no refresh hash", func(t *latch.ClientToken) { t.RefreshHash = nil }, latch.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := latch.ClientToken{ID: newID(t), ClientID: c.ID, RefreshHash: []byte("ct-" + tc.name), CreatedAt: at(0), ExpiresAt: at(60)}
			tc.mutate(&tok)
			err := st.CreateClientToken(ctx, tok)
			if !latch.IsKind(err, tc.kind) {
				t.Fatalf("CreateClientToken: %v, want %s", err, tc.kind)
			}
			if tc.kind == latch.KindConflict {
				wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
			}
		})
	}
	equal(t, "token after refused duplicates", func() latch.ClientToken { tok, _ := clientToken(t, st, want.ID); return tok }(), want)

	for _, id := range []string{newID(t), "grant-1", ""} {
		_, _, err := st.ClientTokenWithClient(ctx, id)
		wantNotFound(t, err)
	}

	// A revoked client still comes back with its grants: the caller
	// refuses them.
	if err := st.RevokeClient(ctx, c.ID, at(5), nil); err != nil {
		t.Fatal(err)
	}
	tok, gc = clientToken(t, st, want.ID)
	equal(t, "grant of a revoked client", tok, want)
	equal(t, "revoked client RevokedAt", gc.RevokedAt, storedPtr(at(5)))
	if gc.Live() {
		t.Error("revoked client is live")
	}
}

func testRotateClientToken(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	other := createClient(t, st, latch.DefaultTenantID)
	old := createClientToken(t, st, c.ID, "ct-r0")
	createClientToken(t, st, other.ID, "ct-elsewhere")

	// next.ClientID is ignored: the successor belongs to the old grant's
	// client.
	// It expires in an hour from now, so that it can be rotated at now.
	later := time.Now().Add(time.Hour)
	next := latch.ClientToken{ID: newID(t), ClientID: other.ID, RefreshHash: []byte("ct-r1"), CreatedAt: at(5), ExpiresAt: later}
	gotTok, got, err := st.RotateClientToken(ctx, []byte("ct-r0"), next, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, "Client", got)
	equal(t, "rotated client", got, c)
	equal(t, "grant in force", gotTok, latch.ClientToken{ID: next.ID, ClientID: c.ID, RefreshHash: []byte("ct-r1"),
		CreatedAt: stored(at(5)), ExpiresAt: stored(later)})
	oldTok, _ := clientToken(t, st, old.ID)
	want := old
	want.RevokedAt = storedPtr(at(5))
	equal(t, "old grant", oldTok, want)
	newTok, nc := clientToken(t, st, next.ID)
	equal(t, "new grant", newTok, latch.ClientToken{ID: next.ID, ClientID: c.ID, RefreshHash: []byte("ct-r1"),
		CreatedAt: stored(at(5)), ExpiresAt: stored(later)})
	equal(t, "new grant's client", nc, c)

	// Single use: see testRotateClientTokenReuse.

	// Rotating into a refresh hash that exists is a Conflict and uses
	// nothing up.
	_, _, err = st.RotateClientToken(ctx, []byte("ct-r1"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("ct-elsewhere"), CreatedAt: at(7), ExpiresAt: at(67)}, 0)
	wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
	// So does reusing a grant id.
	_, _, err = st.RotateClientToken(ctx, []byte("ct-r1"), latch.ClientToken{ID: old.ID, RefreshHash: []byte("ct-r2"), CreatedAt: at(7), ExpiresAt: at(67)}, 0)
	wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
	equal(t, "grant after failed rotations", func() *time.Time { tok, _ := clientToken(t, st, next.ID); return tok.RevokedAt }(), nil)
	// A zero CreatedAt is now.
	r2 := latch.ClientToken{ID: newID(t), RefreshHash: []byte("ct-r2"), ExpiresAt: time.Now().Add(time.Hour)}
	if _, _, err := st.RotateClientToken(ctx, []byte("ct-r1"), r2, 0); err != nil {
		t.Fatalf("rotation after failed ones: %v", err)
	}
	if tok, _ := clientToken(t, st, r2.ID); time.Since(tok.CreatedAt).Abs() > time.Minute {
		t.Errorf("zero CreatedAt became %v", tok.CreatedAt)
	}

	for _, tc := range []struct {
		name string
		old  []byte
		next latch.ClientToken
		kind latch.Kind
	}{
		{"unknown", []byte("ct-unknown"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("x1"), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindNotFound},
		{"no old hash", nil, latch.ClientToken{ID: newID(t), RefreshHash: []byte("x2"), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindNotFound},
		{"malformed next id", []byte("ct-r2"), latch.ClientToken{ID: "grant", RefreshHash: []byte("x3"), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindInvalid},
		{"no next hash", []byte("ct-r2"), latch.ClientToken{ID: newID(t), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindInvalid},
	} {
		_, _, err := st.RotateClientToken(ctx, tc.old, tc.next, 0)
		if !latch.IsKind(err, tc.kind) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.kind)
		}
	}
	// The refused rotations left ct-r2 usable.
	if _, _, err := st.RotateClientToken(ctx, []byte("ct-r2"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("ct-r3"), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}, 0); err != nil {
		t.Errorf("rotation after refused ones: %v", err)
	}
}

// testRotateClientTokenReuse: a replaced grant's refresh token presented
// again revokes its whole chain (the access tokens of every grant of it
// stop), except within the reuse interval with the refresh hash of the
// grant that replaced it, which is answered again while in force.
func testRotateClientTokenReuse(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	const interval = 10 * time.Second
	used := at(5)
	after := func(d time.Duration) time.Time { return used.Add(d) }
	rotate := func(old, next string, when time.Time, reuse time.Duration) (latch.ClientToken, latch.ClientToken, error) {
		n := latch.ClientToken{ID: newID(t), RefreshHash: []byte(next), CreatedAt: when, ExpiresAt: at(60)}
		got, _, err := st.RotateClientToken(ctx, []byte(old), n, reuse)
		return n, got, err
	}
	// chain starts a grant p+"0" and replaces it with p+"1".
	chain := func(t *testing.T, p string) (latch.ClientToken, latch.ClientToken) {
		t.Helper()
		first := createClientToken(t, st, c.ID, p+"0")
		second, got, err := rotate(p+"0", p+"1", used, interval)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "grant in force", got.ID, second.ID)
		return first, second
	}
	revokedAt := func(t *testing.T, tok latch.ClientToken) *time.Time {
		t.Helper()
		got, _ := clientToken(t, st, tok.ID)
		return got.RevokedAt
	}

	t.Run("reuse revokes the chain", func(t *testing.T) {
		first, second := chain(t, "cr-")
		third, _, err := rotate("cr-1", "cr-2", after(time.Minute), interval)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = rotate("cr-0", "cr-1b", after(2*time.Minute), interval)
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		equal(t, "first grant", revokedAt(t, first), storedPtr(used))
		equal(t, "second grant", revokedAt(t, second), storedPtr(after(time.Minute)))
		equal(t, "the grant in force", revokedAt(t, third), storedPtr(after(2*time.Minute)))
		// The reuse stored nothing, and the chain's newest no longer
		// rotates.
		_, _, err = rotate("cr-1b", "cr-x", after(3*time.Minute), interval)
		wantNotFound(t, err)
		_, _, err = rotate("cr-2", "cr-3", after(3*time.Minute), interval)
		wantNotFound(t, err)
		// Another chain of the same client is not touched.
		other := createClientToken(t, st, c.ID, "cr-other")
		equal(t, "another chain", revokedAt(t, other), nil)
	})
	t.Run("same successor within the interval", func(t *testing.T) {
		_, second := chain(t, "cg-")
		for _, d := range []time.Duration{0, 5 * time.Second, interval - time.Microsecond, -5 * time.Second} {
			_, got, err := rotate("cg-0", "cg-1", after(d), interval)
			if err != nil {
				t.Fatalf("again after %v: %v", d, err)
			}
			want, _ := clientToken(t, st, second.ID)
			equal(t, "grant in force", got, want)
			equal(t, "its RevokedAt", want.RevokedAt, nil)
		}
		// Nothing was written: the successor rotates once.
		if _, _, err := rotate("cg-1", "cg-2", after(6*time.Second), interval); err != nil {
			t.Fatalf("rotating the successor: %v", err)
		}
	})
	for name, tc := range map[string]struct {
		prepare func(t *testing.T, p string)
		next    string
		when    time.Duration
		reuse   time.Duration
	}{
		"after the interval": {when: interval, reuse: interval},
		"another successor":  {next: "other", when: time.Second, reuse: interval},
		"interval off":       {when: time.Second, reuse: 0},
		"successor replaced too": {when: 2 * time.Second, reuse: interval, prepare: func(t *testing.T, p string) {
			if _, _, err := rotate(p+"1", p+"2", after(time.Second), interval); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			p := "c-" + strings.ReplaceAll(name, " ", "-") + "-"
			first, second := chain(t, p)
			if tc.prepare != nil {
				tc.prepare(t, p)
			}
			next := p + "1"
			if tc.next != "" {
				next = p + tc.next
			}
			_, _, err := rotate(p+"0", next, after(tc.when), tc.reuse)
			wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
			equal(t, "first grant", revokedAt(t, first), storedPtr(used))
			if got := revokedAt(t, second); got == nil {
				t.Error("the successor was not revoked")
			}
		})
	}
	t.Run("client revoked", func(t *testing.T) {
		c2 := createClient(t, st, latch.DefaultTenantID)
		createClientToken(t, st, c2.ID, "crv-0")
		if _, _, err := st.RotateClientToken(ctx, []byte("crv-0"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("crv-1"), CreatedAt: used, ExpiresAt: at(60)}, interval); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeClient(ctx, c2.ID, after(time.Second), nil); err != nil {
			t.Fatal(err)
		}
		_, _, err := rotate("crv-0", "crv-1", after(2*time.Second), interval)
		wantNotFound(t, err)
	})
}

// testRotateClientTokenReuseConcurrent: concurrent presentations of one
// client refresh token, all with the successor's refresh hash derived from
// it, all get the same grant; exactly one is stored.
func testRotateClientTokenReuseConcurrent(t *testing.T, st latch.Store) {
	c := createClient(t, st, latch.DefaultTenantID)
	u := createUser(t, st, "ctgrace@example.com")
	warmUp(t, st, u.ID)
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			contested := fmt.Sprintf("ctg-contested-%d", round)
			successor := fmt.Appendf(nil, "ctg-next-%d", round)
			createClientToken(t, st, c.ID, contested)
			const n = 20
			errs := make([]error, n)
			got := make([]latch.ClientToken, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				next := latch.ClientToken{ID: newID(t), RefreshHash: successor, CreatedAt: at(5), ExpiresAt: at(65)}
				wg.Go(func() {
					<-start
					got[i], _, errs[i] = st.RotateClientToken(ctx, []byte(contested), next, 10*time.Second)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil || got[i].ID != got[0].ID {
					t.Fatalf("presentation %d: %v, grant %s (first: %s)", i, err, got[i].ID, got[0].ID)
				}
			}
			tok, _ := clientToken(t, st, got[0].ID)
			equal(t, "the grant's RevokedAt", tok.RevokedAt, nil)
		})
	}
}

func testRotateClientTokenEnded(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	rotate := func(refresh string, when time.Time) (latch.ClientToken, error) {
		next := latch.ClientToken{ID: newID(t), RefreshHash: []byte(refresh + "-next"), CreatedAt: when, ExpiresAt: when.Add(time.Hour)}
		_, _, err := st.RotateClientToken(ctx, []byte(refresh), next, 0)
		return next, err
	}
	// Expired: at and after ExpiresAt (at(60)).
	expired := createClientToken(t, st, c.ID, "ct-expired")
	for _, when := range []time.Time{at(60), at(61)} {
		next, err := rotate("ct-expired", when)
		wantNotFound(t, err)
		_, _, err = st.ClientTokenWithClient(ctx, next.ID)
		wantNotFound(t, err)
	}
	equal(t, "expired grant", func() *time.Time { tok, _ := clientToken(t, st, expired.ID); return tok.RevokedAt }(), nil)
	createClientToken(t, st, c.ID, "ct-edge")
	if _, err := rotate("ct-edge", stored(at(60)).Add(-time.Microsecond)); err != nil {
		t.Errorf("rotation just before expiry: %v", err)
	}

	// Revoked.
	revoked := latch.ClientToken{ID: newID(t), ClientID: c.ID, RefreshHash: []byte("ct-revoked"), CreatedAt: at(0), ExpiresAt: at(60), RevokedAt: new(at(1))}
	if err := st.CreateClientToken(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	_, err := rotate("ct-revoked", at(2))
	wantNotFound(t, err)

	// The client revoked: no grant of it rotates, and nothing is used up.
	live := createClientToken(t, st, c.ID, "ct-live")
	if err := st.RevokeClient(ctx, c.ID, at(3), nil); err != nil {
		t.Fatal(err)
	}
	next, err := rotate("ct-live", at(4))
	wantNotFound(t, err)
	_, _, err = st.ClientTokenWithClient(ctx, next.ID)
	wantNotFound(t, err)
	equal(t, "grant of a revoked client", func() *time.Time { tok, _ := clientToken(t, st, live.ID); return tok.RevokedAt }(), nil)
}

func testRotateClientTokenConcurrent(t *testing.T, st latch.Store) {
	c := createClient(t, st, latch.DefaultTenantID)
	u := createUser(t, st, "ctrace@example.com")
	warmUp(t, st, u.ID)
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			contested := fmt.Sprintf("ct-contested-%d", round)
			old := createClientToken(t, st, c.ID, contested)
			const n = 20
			errs := make([]error, n)
			nexts := make([]latch.ClientToken, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				nexts[i] = latch.ClientToken{ID: newID(t), RefreshHash: fmt.Appendf(nil, "ct-next-%d-%d", round, i), CreatedAt: at(5), ExpiresAt: at(65)}
				wg.Go(func() {
					<-start
					_, _, errs[i] = st.RotateClientToken(ctx, []byte(contested), nexts[i], 0)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				_, _, lookErr := st.ClientTokenWithClient(ctx, nexts[i].ID)
				switch {
				case err == nil:
					wins++
					if lookErr != nil {
						t.Errorf("rotation %d succeeded but stored no grant: %v", i, lookErr)
					}
				case latch.IsCode(err, latch.CodeRefreshTokenReused):
					if lookErr == nil {
						t.Errorf("rotation %d failed but stored its grant", i)
					}
				default:
					t.Errorf("rotation %d: %v, want nil or refresh_token_reused", i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%d rotations succeeded, want exactly 1", wins)
			}
			tok, _ := clientToken(t, st, old.ID)
			equal(t, "RevokedAt", tok.RevokedAt, storedPtr(at(5)))
			// Every loser was a reuse, so the winner's grant ends revoked
			// with its chain.
			for i, err := range errs {
				if err == nil {
					tok, _ := clientToken(t, st, nexts[i].ID)
					equal(t, "the winner's RevokedAt", tok.RevokedAt, storedPtr(at(5)))
				}
			}
		})
	}
}
