package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/oidc"
)

// fakeGitHub speaks the shapes of GitHub's OAuth token endpoint and REST
// API (github.com cannot be reached from here): one code, one token.
func fakeGitHub(t *testing.T, emails string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("code") != "good-code" || r.PostForm.Get("code_verifier") == "" {
			// GitHub answers a bad code with 200 and an error body.
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"gho_test","token_type":"bearer","scope":"read:user,user:email"}`))
	})
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer gho_test" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return false
		}
		return true
	}
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			_, _ = w.Write([]byte(`{"id":583231,"login":"octocat","name":"The Octocat","avatar_url":"https://avatars.example/u/583231"}`))
		}
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			_, _ = w.Write([]byte(emails))
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func githubAt(srv *httptest.Server) *oidc.GitHub {
	return oidc.NewGitHub(oidc.GitHubConfig{ClientID: "cid", ClientSecret: "secret", RedirectURL: "http://127.0.0.1/cb",
		AuthURL: srv.URL + "/login/oauth/authorize", TokenURL: srv.URL + "/login/oauth/access_token", APIURL: srv.URL})
}

func TestGitHub(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, emails string
		email        string
	}{
		{"verified primary", `[{"email":"other@example.com","primary":false,"verified":true},{"email":"octo@example.com","primary":true,"verified":true}]`, "octo@example.com"},
		{"unverified primary", `[{"email":"octo@example.com","primary":true,"verified":false},{"email":"other@example.com","primary":false,"verified":true}]`, ""},
	}
	for _, c := range cases {
		srv := fakeGitHub(t, c.emails)
		g := githubAt(srv)
		authURL, _ := g.AuthCodeURL(ctx, "st", "", "verifier-verifier-verifier-verifier-verifier")
		if u, _ := url.Parse(authURL); u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("state") != "st" {
			t.Fatalf("auth URL %s", authURL)
		}
		ext, err := g.Exchange(ctx, "good-code", "verifier-verifier-verifier-verifier-verifier", "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The instance is its API URL: GitHub Enterprise's user 583231 is
		// not github.com's.
		want := latch.ExternalIdentity{Provider: latch.ProviderGitHub, Issuer: srv.URL, Subject: "583231", Email: c.email, EmailVerified: c.email != "",
			FirstName: "The", LastName: "Octocat", Picture: "https://avatars.example/u/583231"}
		if ext != want {
			got, _ := json.Marshal(ext)
			t.Errorf("%s: %s", c.name, got)
		}
	}
	g := githubAt(fakeGitHub(t, `[]`))
	if _, err := g.Exchange(ctx, "stale-code", "v", ""); !latch.IsCode(err, oidc.CodeProviderRefused) {
		t.Fatalf("bad code: %v", err)
	}
}
