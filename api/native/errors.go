package native

import (
	"net/http"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
)

// problem is an RFC 9457 problem document, extended with Latch's stable
// error code and, for validation failures, one entry per failed rule.
type problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Code   string         `json:"code"`
	Errors []problemField `json:"errors,omitempty"`
}

type problemField struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func statusOf(err *latch.Error) int {
	switch err.Kind {
	case latch.KindInvalid:
		if err.Code == httpx.CodeBodyTooLarge {
			return http.StatusRequestEntityTooLarge
		}
		if err.Code == latch.CodeUnsupportedContentType {
			return http.StatusUnsupportedMediaType
		}
		return http.StatusBadRequest
	case latch.KindUnauthenticated:
		return http.StatusUnauthorized
	case latch.KindForbidden:
		return http.StatusForbidden
	case latch.KindNotFound:
		return http.StatusNotFound
	case latch.KindConflict:
		return http.StatusConflict
	case latch.KindTooMany:
		return http.StatusTooManyRequests
	case latch.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeProblem(w http.ResponseWriter, _ *http.Request, err *latch.Error) {
	status := statusOf(err)
	p := problem{Type: "urn:latch:problem:" + err.Code, Title: http.StatusText(status), Status: status, Detail: err.Message, Code: err.Code}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	for _, d := range err.Details {
		p.Errors = append(p.Errors, problemField{Field: d.Field, Code: d.Code, Message: d.Message})
	}
	if err.Kind == latch.KindInternal {
		// Nothing of an internal error is shown, its details included:
		// the log has them under the request id.
		p.Detail, p.Code, p.Type, p.Errors = "", latch.CodeInternal, "about:blank", nil
	}
	httpx.WriteJSON(w, status, "application/problem+json", p)
}

// oauthErrorBody is RFC 6749 §5.2.
type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeOAuthError maps errors of the token endpoint to RFC 6749 codes.
// The kinds that tell the server's state (internal, too many, unavailable)
// decide the answer whatever the code; the codes refine only a refusal of
// the request.
func writeOAuthError(w http.ResponseWriter, _ *http.Request, err *latch.Error) {
	status, code, desc := http.StatusBadRequest, "invalid_request", err.Message
	switch {
	case err.Kind == latch.KindInternal:
		status, code, desc = http.StatusInternalServerError, "server_error", ""
	case err.Kind == latch.KindTooMany:
		status, code = http.StatusTooManyRequests, "slow_down"
	case err.Kind == latch.KindUnavailable:
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	case err.Code == latch.CodeUnsupportedGrantType:
		code = "unsupported_grant_type"
	case err.Kind == latch.KindInvalid && err.Code == httpx.CodeBodyTooLarge:
		status = http.StatusRequestEntityTooLarge
	case err.Kind == latch.KindInvalid:
		code = "invalid_request"
	case err.Code == httpx.CodeCrossSite:
		status = http.StatusForbidden
	case err.Code == latch.CodeInvalidClient:
		status, code, desc = http.StatusUnauthorized, "invalid_client", "client authentication failed"
		w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
	case err.Kind == latch.KindUnauthenticated, err.Kind == latch.KindForbidden, err.Kind == latch.KindNotFound, err.Kind == latch.KindConflict:
		// Wrong password, unknown user, used or revoked refresh token,
		// deactivated account, and a grant that is gone (NotFound) or
		// changed meanwhile (Conflict): RFC 6749 calls them all
		// invalid_grant. None is the server's fault, so none is a 500.
		code, desc = "invalid_grant", "the credentials or the refresh token are invalid"
		if err.Code == latch.CodeAccountInactive {
			desc = err.Message
		}
	default:
		status, code, desc = http.StatusInternalServerError, "server_error", ""
	}
	httpx.WriteJSON(w, status, "application/json", oauthErrorBody{Error: code, Description: desc})
}
