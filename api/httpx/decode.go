// Package httpx is what every HTTP surface shares: reading request bodies
// safely, extracting credentials, the handler adapter that turns returned
// errors into responses, and middleware.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/latchid/latch"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Codes of body-decoding failures, all of kind Invalid.
const (
	CodeBodyTooLarge = "body_too_large"
	CodeInvalidJSON  = "invalid_json"
	CodeInvalidUTF8  = "invalid_utf8"
	CodeWrongType    = "wrong_type"
	CodeEmptyBody    = "empty_body"
)

// CodeMissingToken (kind Unauthenticated): the request has no
// Authorization header at all.
const CodeMissingToken = "missing_token"

// ReadBody reads the whole body, refusing more than MaxBodyBytes and bytes
// that are not UTF-8.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &latch.Error{Kind: latch.KindInvalid, Code: CodeBodyTooLarge, Message: "The request body is larger than 1 MiB."}
		}
		return nil, &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: "The request body could not be read.", Err: err}
	}
	if !utf8.Valid(body) {
		return nil, &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidUTF8, Message: "The request body is not valid UTF-8."}
	}
	return body, nil
}

// DecodeJSON reads a JSON object into dst: one value, nothing after it,
// UTF-8 only, at most MaxBodyBytes. Unknown fields are ignored (clients of
// the seed APIs send extra fields), but a known field of the wrong type is
// an error naming that field.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	return UnmarshalJSON(body, dst)
}

// UnmarshalJSON is DecodeJSON's parser, for bodies already read.
func UnmarshalJSON(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidUTF8, Message: "The request body is not valid UTF-8."}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &latch.Error{Kind: latch.KindInvalid, Code: CodeEmptyBody, Message: "The request body is empty."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			if field == "" {
				return &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidJSON, Message: "The request body must be a JSON object."}
			}
			return &latch.Error{Kind: latch.KindInvalid, Code: CodeWrongType, Field: field,
				Message: "The " + strings.ReplaceAll(field, "_", " ") + " field must be a " + jsonTypeName(typeErr.Type.Kind().String()) + "."}
		}
		return &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidJSON, Message: "The request body is not valid JSON."}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidJSON, Message: "The request body holds more than one JSON value."}
	}
	return nil
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "slice", "array":
		return "list"
	}
	return "object"
}

// IsJSONContentType reports whether the request declares a JSON body
// (application/json or any application/*+json, with any parameters).
func IsJSONContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// AcceptsJSON reports whether the Accept header allows a JSON response. No
// header, */* and application/* are fine.
func AcceptsJSON(r *http.Request) bool {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return true
	}
	for _, line := range accept {
		for _, part := range strings.Split(line, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if params["q"] == "0" || params["q"] == "0.0" || params["q"] == "0.00" || params["q"] == "0.000" {
				continue
			}
			switch {
			case mt == "*/*", mt == "application/*", mt == "application/json", strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
				return true
			}
		}
	}
	return false
}
