package devopness

import (
	"net/http"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
)

const codeNotAcceptable = "not_acceptable"

func errNotAcceptable() error {
	return &latch.Error{Kind: latch.KindInvalid, Code: codeNotAcceptable, Message: "Not Acceptable"}
}

type messageBody struct {
	Message string `json:"message"`
}

type validationBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// writeError renders err as Laravel does: {"message": ...} and, for
// validation failures, {"errors": {field: [reasons]}}.
func writeError(w http.ResponseWriter, _ *http.Request, err *latch.Error) {
	status, msg := http.StatusInternalServerError, "Server Error"
	switch err.Kind {
	case latch.KindInvalid:
		switch err.Code {
		case codeNotAcceptable:
			status, msg = http.StatusNotAcceptable, "Not Acceptable"
		case httpx.CodeBodyTooLarge:
			status, msg = http.StatusRequestEntityTooLarge, "Payload Too Large"
		default:
			httpx.WriteJSON(w, http.StatusUnprocessableEntity, "application/json", validationBody{Message: "Validation failed", Errors: fieldErrors(err)})
			return
		}
	case latch.KindUnauthenticated:
		status, msg = http.StatusUnauthorized, "Unauthenticated."
	case latch.KindForbidden:
		if err.Code == latch.CodeAccountInactive {
			// Laravel's login answers a disabled account like bad credentials.
			status, msg = http.StatusUnauthorized, "Unauthenticated."
		} else {
			status, msg = http.StatusForbidden, "Forbidden"
		}
	case latch.KindNotFound:
		status, msg = http.StatusNotFound, "Not Found"
	case latch.KindConflict:
		status, msg = http.StatusConflict, "Conflict"
	case latch.KindTooMany:
		status, msg = http.StatusTooManyRequests, "Too Many Attempts."
	case latch.KindUnavailable:
		status, msg = http.StatusServiceUnavailable, "Service Unavailable"
	}
	httpx.WriteJSON(w, status, "application/json", messageBody{Message: msg})
}

// fieldErrors groups the failures by field, in order; failures about the
// body as a whole go under "body".
func fieldErrors(err *latch.Error) map[string][]string {
	all := err.Details
	if len(all) == 0 {
		all = []latch.Error{*err}
	}
	out := map[string][]string{}
	for _, e := range all {
		field, text := laravelText(e)
		out[field] = append(out[field], text)
	}
	return out
}

// laravelText is seed 000's wording of a failed rule, Laravel's
// validation messages (shared/seeds/README.md, 000), and the field Laravel
// files it under; a rule Laravel has no message for reads as the
// service's own text.
func laravelText(e latch.Error) (field, text string) {
	field = e.Field
	if field == "" {
		field = "body"
	}
	switch e.Code {
	case latch.CodeRequired:
		return field, "The " + strings.ReplaceAll(field, "_", " ") + " field is required."
	case latch.CodePasswordMismatch:
		// Laravel's "confirmed" rule belongs to the confirmed field.
		return "password", "The password field confirmation does not match."
	case latch.CodeCurrentPasswordNeeded:
		return "current_password", "The current password field is required."
	case latch.CodeCurrentPasswordWrong:
		// Laravel's current_password rule.
		return field, "The password is incorrect."
	case latch.CodePolicyLength:
		if n := e.Params["min"]; n != "" {
			return field, "The password must be at least " + n + " characters."
		}
		if n := e.Params["max"]; n != "" {
			return field, "The password may not be greater than " + n + " characters."
		}
	}
	return field, e.Message
}
