package native

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// The apps of the administration API (issue 15): OAuth clients of end
// users, registered by an API client of their tenant. Reading needs Read
// All, changing Manage All (account.AdminOperation).

// App is an app as the API shows it: never its secret hash. ClientSecret
// is there only in the answer that made it (creation, rotation).
type App struct {
	ClientID               string        `json:"client_id"`
	TenantID               string        `json:"tenant_id"`
	Name                   string        `json:"name"`
	Type                   latch.AppType `json:"type"`
	FirstParty             bool          `json:"first_party"`
	RedirectURIs           []string      `json:"redirect_uris"`
	PostLogoutRedirectURIs []string      `json:"post_logout_redirect_uris"`
	Scopes                 []string      `json:"scopes"`
	ClientCredentials      bool          `json:"client_credentials"`
	PKCEOptional           bool          `json:"pkce_optional"`
	CreatedAt              time.Time     `json:"created_at"`
	UpdatedAt              time.Time     `json:"updated_at"`
	RevokedAt              *time.Time    `json:"revoked_at,omitempty"`
	ClientSecret           string        `json:"client_secret,omitempty"`
}

func appOf(a latch.App) App {
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return App{
		ClientID: a.ID, TenantID: a.TenantID, Name: a.Name, Type: a.Type, FirstParty: a.FirstParty,
		RedirectURIs: list(a.RedirectURIs), PostLogoutRedirectURIs: list(a.PostLogoutRedirectURIs), Scopes: list(a.Scopes),
		ClientCredentials: a.ClientCredentials, PKCEOptional: a.PKCEOptional, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, RevokedAt: a.RevokedAt,
	}
}

// writeAppWithSecret answers an app with its secret, shown this once: no
// cache may keep the answer.
func writeAppWithSecret(w http.ResponseWriter, status int, na account.NewApp) {
	out := appOf(na.App)
	out.ClientSecret = na.Secret
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, status, "application/json", out)
}

func (s *Surface) registerApps(route func(pattern string, op account.AdminOperation, h func(w http.ResponseWriter, r *http.Request, a account.Admin) error)) {
	route("GET /v1/admin/apps", account.OpListApps, s.adminListApps)
	route("POST /v1/admin/apps", account.OpCreateApp, s.adminCreateApp)
	route("GET /v1/admin/apps/{id}", account.OpGetApp, s.adminGetApp)
	route("PATCH /v1/admin/apps/{id}", account.OpUpdateApp, s.adminUpdateApp)
	route("DELETE /v1/admin/apps/{id}", account.OpRevokeApp, s.adminRevokeApp)
	route("POST /v1/admin/apps/{id}/secret", account.OpRotateAppSecret, s.adminRotateAppSecret)
}

func (s *Surface) adminListApps(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return latch.FieldError("limit", latch.CodeInvalidRequest, "limit must be between 1 and 200")
		}
		limit = n
	}
	// One more than asked tells whether a next page exists.
	apps, err := s.accounts.Apps(r.Context(), a, q.Get("cursor"), limit+1)
	if err != nil {
		return err
	}
	out := struct {
		Apps       []App  `json:"apps"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{Apps: []App{}}
	if len(apps) > limit {
		apps = apps[:limit]
		out.NextCursor = apps[limit-1].ID
	}
	for _, app := range apps {
		out.Apps = append(out.Apps, appOf(app))
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

type createAppRequest struct {
	Name                   string   `json:"name"`
	Type                   string   `json:"type"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Scopes                 []string `json:"scopes"`
	FirstParty             bool     `json:"first_party"`
	ClientCredentials      bool     `json:"client_credentials"`
	PKCEOptional           bool     `json:"pkce_optional"`
}

func (s *Surface) adminCreateApp(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	var req createAppRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	na, err := s.accounts.CreateApp(httpx.Context(r), a, account.AppInput{
		Name: req.Name, Type: latch.AppType(req.Type), RedirectURIs: req.RedirectURIs,
		PostLogoutRedirectURIs: req.PostLogoutRedirectURIs, Scopes: req.Scopes,
		FirstParty: req.FirstParty, ClientCredentials: req.ClientCredentials, PKCEOptional: req.PKCEOptional,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/admin/apps/"+na.App.ID)
	writeAppWithSecret(w, http.StatusCreated, na)
	return nil
}

func (s *Surface) adminGetApp(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	app, err := s.accounts.App(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", appOf(app))
	return nil
}

type updateAppRequest struct {
	Name                   *string   `json:"name"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	Scopes                 *[]string `json:"scopes"`
	FirstParty             *bool     `json:"first_party"`
	ClientCredentials      *bool     `json:"client_credentials"`
	PKCEOptional           *bool     `json:"pkce_optional"`
}

func (s *Surface) adminUpdateApp(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	var req updateAppRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	app, err := s.accounts.UpdateApp(httpx.Context(r), a, r.PathValue("id"), account.AppChange(req))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", appOf(app))
	return nil
}

func (s *Surface) adminRevokeApp(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	if err := s.accounts.RevokeApp(httpx.Context(r), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Surface) adminRotateAppSecret(w http.ResponseWriter, r *http.Request, a account.Admin) error {
	na, err := s.accounts.RotateAppSecret(httpx.Context(r), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeAppWithSecret(w, http.StatusOK, na)
	return nil
}
