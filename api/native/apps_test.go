package native_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestAdminApps drives /v1/admin/apps over a real store: registration
// answers the secret once (201, Location, no-store), reading needs Read
// All and writing Manage All, another tenant's app does not exist, the
// list pages, an update follows the rules, rotation answers a new secret,
// and a revoked app cannot be changed.
func TestAdminApps(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		_, _, manage := h.APIClient(t, latch.ScopeManageAll, "", false)
		_, _, read := h.APIClient(t, latch.ScopeReadAll, "", false)
		other, err := h.Accounts.CreateTenant(t.Context(), account.Operator(""), "other")
		if err != nil {
			t.Fatal(err)
		}
		_, _, foreign := h.APIClient(t, latch.ScopeManageAll, other.ID, false)

		const body = `{"name":"Shop","type":"confidential","redirect_uris":["https://shop.example/cb"],"scopes":["openid","email"],"client_credentials":true}`
		req, _ := http.NewRequest("POST", fx.srv.URL+"/v1/admin/apps", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+manage)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 || res.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(res.Header.Get("Location"), "/v1/admin/apps/") {
			t.Fatalf("POST /v1/admin/apps: %d, Cache-Control %q, Location %q", res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Location"))
		}
		id := strings.TrimPrefix(res.Header.Get("Location"), "/v1/admin/apps/")
		got, err := h.Store.AppByID(t.Context(), id)
		if err != nil || got.Name != "Shop" || !got.ClientCredentials || got.TenantID != latch.DefaultTenantID {
			t.Fatalf("stored app: %+v, %v", got, err)
		}

		// Read All reads, and is refused before a write reads its body.
		if code, out := fx.call(t, "GET", "/v1/admin/apps/"+id, read, ""); code != 200 || out["client_id"] != id || out["client_secret"] != nil || out["pkce_optional"] != false {
			t.Errorf("GET app with Read All: %d %v", code, out)
		}
		if code, out := fx.call(t, "POST", "/v1/admin/apps", read, body); code != 403 || out["code"] != latch.CodeInsufficientScope {
			t.Errorf("POST with Read All: %d %v", code, out)
		}
		// Another tenant's client: no such app, and nothing changed.
		if code, _ := fx.call(t, "GET", "/v1/admin/apps/"+id, foreign, ""); code != 404 {
			t.Errorf("GET another tenant's app: %d", code)
		}
		if code, _ := fx.call(t, "DELETE", "/v1/admin/apps/"+id, foreign, ""); code != 404 {
			t.Errorf("DELETE another tenant's app: %d", code)
		}
		if code, out := fx.call(t, "GET", "/v1/admin/apps", foreign, ""); code != 200 || len(out["apps"].([]any)) != 0 {
			t.Errorf("GET apps of another tenant: %d %v", code, out)
		}

		// Validation: a problem naming the field, nothing stored.
		if code, out := fx.call(t, "POST", "/v1/admin/apps", manage, `{"name":"X","type":"public","redirect_uris":["http://x.example/cb"],"scopes":["openid"]}`); code != 400 || problemField(out) != "redirect_uris" {
			t.Errorf("POST with an http redirect: %d %v", code, out)
		}

		// Paging: a second app, one per page.
		if code, out := fx.call(t, "POST", "/v1/admin/apps", manage, `{"name":"SPA","type":"public","redirect_uris":["http://127.0.0.1:9/cb"],"scopes":["openid"]}`); code != 201 || out["client_secret"] != nil {
			t.Fatalf("POST public app: %d %v", code, out)
		}
		code, page := fx.call(t, "GET", "/v1/admin/apps?limit=1", read, "")
		cursor, _ := page["next_cursor"].(string)
		if code != 200 || len(page["apps"].([]any)) != 1 || cursor == "" {
			t.Fatalf("first page: %d %v", code, page)
		}
		code, page = fx.call(t, "GET", "/v1/admin/apps?limit=1&cursor="+cursor, read, "")
		if code != 200 || len(page["apps"].([]any)) != 1 || page["next_cursor"] != nil {
			t.Errorf("last page: %d %v", code, page)
		}
		if code, _ := fx.call(t, "GET", "/v1/admin/apps?limit=0", read, ""); code != 400 {
			t.Errorf("limit=0: %d", code)
		}

		// Update: fields sent change, others stay.
		code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+id, manage, `{"name":"Shop 2","post_logout_redirect_uris":["https://shop.example/bye"]}`)
		if code != 200 || out["name"] != "Shop 2" || out["client_credentials"] != true || len(out["post_logout_redirect_uris"].([]any)) != 1 {
			t.Errorf("PATCH: %d %v", code, out)
		}
		if code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+id, manage, `{"scopes":["email"]}`); code != 400 || problemField(out) != "scopes" {
			t.Errorf("PATCH without openid: %d %v", code, out)
		}
		checkAppPKCEOptional(t, fx, h, manage, read, id)

		code, out = fx.call(t, "POST", "/v1/admin/apps/"+id+"/secret", manage, "")
		secret, _ := out["client_secret"].(string)
		if code != 200 || !strings.HasPrefix(secret, "las_") {
			t.Errorf("rotate: %d %v", code, out)
		}
		if _, err := h.Accounts.AuthenticateApp(t.Context(), id, secret, "192.0.2.1"); err != nil {
			t.Errorf("the rotated secret: %v", err)
		}

		if code, _ := fx.call(t, "DELETE", "/v1/admin/apps/"+id, manage, ""); code != 204 {
			t.Errorf("DELETE: %d", code)
		}
		if code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+id, manage, `{"name":"again"}`); code != 409 {
			t.Errorf("PATCH a revoked app: %d %v", code, out)
		}
		if code, out := fx.call(t, "GET", "/v1/admin/apps/"+id, read, ""); code != 200 || out["revoked_at"] == nil {
			t.Errorf("GET a revoked app: %d %v", code, out)
		}
	})
}

// checkAppPKCEOptional: pkce_optional is read, set and cleared on the
// confidential app id, and refused (400 naming the field, nothing stored)
// for a public app, on registration and on update.
func checkAppPKCEOptional(t *testing.T, fx adminFixture, h *testenv.Harness, manage, read, id string) {
	t.Helper()
	stored := func(id string) latch.App {
		t.Helper()
		a, err := h.Store.AppByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+id, manage, `{"pkce_optional":true}`); code != 200 || out["pkce_optional"] != true || out["name"] != "Shop 2" {
		t.Errorf("PATCH pkce_optional=true: %d %v", code, out)
	}
	if !stored(id).PKCEOptional {
		t.Error("pkce_optional=true was not stored")
	}
	if code, out := fx.call(t, "GET", "/v1/admin/apps/"+id, read, ""); code != 200 || out["pkce_optional"] != true {
		t.Errorf("GET after setting pkce_optional: %d %v", code, out)
	}
	if code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+id, manage, `{"pkce_optional":false}`); code != 200 || out["pkce_optional"] != false {
		t.Errorf("PATCH pkce_optional=false: %d %v", code, out)
	}
	if stored(id).PKCEOptional {
		t.Error("pkce_optional=false was not stored")
	}
	if code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+id, manage, `{"pkce_optional":"yes"}`); code != 400 {
		t.Errorf("PATCH pkce_optional as a string: %d %v", code, out)
	}

	code, out := fx.call(t, "POST", "/v1/admin/apps", manage, `{"name":"Dex","type":"confidential","redirect_uris":["https://dex.example/callback"],"scopes":["openid"],"pkce_optional":true}`)
	dex, _ := out["client_id"].(string)
	if code != 201 || out["pkce_optional"] != true || dex == "" || !stored(dex).PKCEOptional {
		t.Errorf("POST a confidential app with pkce_optional: %d %v", code, out)
	}
	if code, out := fx.call(t, "POST", "/v1/admin/apps", manage, `{"name":"Loose","type":"public","redirect_uris":["https://spa.example/cb"],"scopes":["openid"],"pkce_optional":true}`); code != 400 || problemField(out) != "pkce_optional" {
		t.Errorf("POST a public app with pkce_optional: %d %v", code, out)
	}
	code, out = fx.call(t, "POST", "/v1/admin/apps", manage, `{"name":"Strict","type":"public","redirect_uris":["https://spa.example/cb"],"scopes":["openid"]}`)
	spa, _ := out["client_id"].(string)
	if code != 201 || out["pkce_optional"] != false {
		t.Fatalf("POST a public app: %d %v", code, out)
	}
	if code, out := fx.call(t, "PATCH", "/v1/admin/apps/"+spa, manage, `{"pkce_optional":true,"name":"Loose"}`); code != 400 || problemField(out) != "pkce_optional" {
		t.Errorf("PATCH a public app with pkce_optional: %d %v", code, out)
	}
	if got := stored(spa); got.PKCEOptional || got.Name != "Strict" {
		t.Errorf("a refused PATCH was stored: %+v", got)
	}
}

// problemField is the field of a problem's first error, or "".
func problemField(problem map[string]any) string {
	errs, _ := problem["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	field, _ := errs[0].(map[string]any)["field"].(string)
	return field
}
