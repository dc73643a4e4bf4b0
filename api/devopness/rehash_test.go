package devopness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
)

// Concurrent POST /users/login with the right password against a weak
// stored hash all answer 200 (issue 11: 7 of 8 answered 401
// "Unauthenticated." while one of them upgraded the hash), and the hash is
// upgraded once.
func TestConcurrentLoginsDuringRehash(t *testing.T) {
	const logins = 8
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for kind, weak := range testenv.WeakHashes(t, newPassword) {
				t.Run(kind, func(t *testing.T) {
					ctx := context.Background()
					st := &testenv.RehashStore{Store: b.Open(t)}
					h := testenv.NewHarness(t, st)
					fx := fixture{h: h, srv: h.Server(t)}
					now := h.Clock.Now()
					email := "http-upgrade-" + kind + "@example.com"
					u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: email, Active: true, CreatedAt: now, UpdatedAt: now}, PasswordHash: weak})
					if err != nil {
						t.Fatal(err)
					}
					st.Gather(logins)
					body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, newPassword)
					res := make([]response, logins)
					errs := make([]error, logins)
					var wg sync.WaitGroup
					for i := range logins {
						wg.Go(func() { res[i], errs[i] = post(fx.srv.URL+"/users/login", body) })
					}
					wg.Wait()
					refused := 0
					for i, r := range res {
						if errs[i] != nil {
							t.Fatalf("login %d: %v", i, errs[i])
						}
						if r.status != 200 {
							refused++
							t.Errorf("login %d: %d %s", i, r.status, r.body)
							continue
						}
						var ok struct {
							AccessToken string `json:"access_token"`
						}
						if err := json.Unmarshal(r.body, &ok); err != nil {
							t.Fatal(err)
						}
						if me := fx.do(t, request{"GET", "/v1/me", map[string]string{"Authorization": "Bearer " + ok.AccessToken}, ""}); me.status != 200 {
							t.Errorf("login %d: its token: %d %s", i, me.status, me.body)
						}
					}
					if refused > 0 {
						t.Errorf("%d of %d correct logins refused while the hash was upgraded", refused, logins)
					}
					if n := st.Rehashes(); n != 1 {
						t.Errorf("%d rehashes stored, want 1", n)
					}
					cred, err := st.Credential(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if parsed, err := password.ParseArgon2(cred.Hash); err != nil || parsed.Params != testenv.FastParams {
						t.Errorf("stored hash after the logins = %q (%v), want argon2id at %+v", cred.Hash, err, testenv.FastParams)
					}
				})
			}
		})
	}
}

// post sends a JSON body as fixture.do does, but from any goroutine: it
// returns its error rather than ending the test.
func post(url, body string) (response, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for k, v := range jsonHeaders("") {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}
