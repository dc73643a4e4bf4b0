// Package openapitest holds Latch's HTTP answers to its OpenAPI documents:
// it loads a document with kin-openapi, fails the test unless the
// validator finds it a valid OpenAPI 3.1 document, and checks real
// exchanges against it (the request, when the test means it to be
// well-formed, and every response: status, content type, headers, body).
//
// It is its own package, not part of testenv, so that only the tests that
// check documents compile the validator.
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.yaml.in/yaml/v4"
)

// Document is a loaded, valid OpenAPI document and a record of which of
// its responses real exchanges have shown.
type Document struct {
	// Name says which document this is in failures ("native", "devopness"...).
	Name string
	// Doc is the parsed document.
	Doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]bool // Response keys: "POST /v1/token 400"
}

// Verdict is the validator's verdict on data: the line the tests print and
// the error that makes them fail.
func Verdict(name string, data []byte) (string, *openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return fmt.Sprintf("%s: not loadable by kin-openapi: %v", name, err), nil, err
	}
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPIMajorMinor() != "3.1" {
		err := fmt.Errorf("openapi is %q, want 3.1.x", doc.OpenAPI)
		return fmt.Sprintf("%s: %v", name, err), nil, err
	}
	if err := strayKeys(data); err != nil {
		return fmt.Sprintf("%s: %v", name, err), nil, err
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError(), openapi3.EnableExamplesValidation()); err != nil {
		return fmt.Sprintf("%s: invalid OpenAPI %s: %v", name, doc.OpenAPI, err), nil, err
	}
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	return fmt.Sprintf("%s: valid OpenAPI %s (kin-openapi v0.153.0 openapi3 Validate, no stray keys): %d paths, %d operations",
		name, doc.OpenAPI, doc.Paths.Len(), ops), doc, nil
}

// strayKeys refuses a key without a value. In a YAML flow mapping an
// unquoted comma ends the value, so `{ description: To the provider, with
// a cookie }` is a description and a key "with a cookie" holding null:
// valid YAML, and a key the validator only notices in some objects. No
// OpenAPI field needs a null, except as a schema's value (const, default,
// enum, example).
func strayKeys(data []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return err
	}
	var found []string
	var walk func(n *yaml.Node, inValue bool)
	walk = func(n *yaml.Node, inValue bool) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, inValue)
			}
		case yaml.AliasNode:
			// Its anchor is walked where it stands.
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, value := n.Content[i], n.Content[i+1]
				valueKey := inValue || slices.Contains([]string{"const", "default", "enum", "example", "examples"}, key.Value)
				if value.Kind == yaml.ScalarNode && value.Tag == "!!null" && !valueKey {
					found = append(found, fmt.Sprintf("line %d: key %q has no value (an unquoted comma in a flow mapping?)", key.Line, key.Value))
				}
				walk(value, valueKey)
			}
		}
	}
	walk(&root, false)
	if len(found) > 0 {
		return errors.New(strings.Join(found, "; "))
	}
	return nil
}

// Load parses and validates data, and fails t unless it is a valid
// OpenAPI 3.1 document. The verdict is logged.
func Load(t testing.TB, name string, data []byte) *Document {
	t.Helper()
	verdict, doc, err := Verdict(name, data)
	if err != nil {
		t.Fatal(verdict)
	}
	t.Log(verdict)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("%s: no router over the document: %v", name, err)
	}
	return &Document{Name: name, Doc: doc, router: router, seen: map[string]bool{}}
}

// Operations returns every documented operation as "METHOD /path", sorted.
func (d *Document) Operations() []string {
	var out []string
	for path, item := range d.Doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// route finds req's documented operation.
func (d *Document) route(t testing.TB, req *http.Request) (*routers.Route, map[string]string, bool) {
	t.Helper()
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s: %s %s is not documented: %v", d.Name, req.Method, req.URL.Path, err)
		return nil, nil, false
	}
	return route, params, true
}

// CheckRequest checks a request the test means to be well-formed against
// its operation: security, parameters and body. body is what req sends
// (req's own Body is not read).
func (d *Document) CheckRequest(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	route, params, ok := d.route(t, req)
	if !ok {
		return
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: presentCredentials, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Errorf("%s: the request %s %s does not match its document: %v", d.Name, req.Method, req.URL.RequestURI(), err)
	}
}

// presentCredentials accepts a security scheme when the request carries
// credentials of its form; whether they are good is the server's
// business, not the document's.
func presentCredentials(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	h := in.RequestValidationInput.Request.Header
	switch s.Type {
	case "http":
		scheme, _, _ := strings.Cut(h.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, s.Scheme) {
			return fmt.Errorf("no %s Authorization", s.Scheme)
		}
		return nil
	case "apiKey":
		if s.In == "header" && h.Get(s.Name) != "" {
			return nil
		}
		return fmt.Errorf("no %s %s", s.In, s.Name)
	}
	return fmt.Errorf("security scheme type %q is not checked here", s.Type)
}

// CheckResponse checks an answer to req against its operation's documented
// response for the status (or the default one): a status the operation
// does not document fails, as does a content type it does not list, a
// documented header of the wrong form, a body that its schema refuses, and
// a body where the response documents none.
func (d *Document) CheckResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	route, params, ok := d.route(t, req)
	if !ok {
		return
	}
	responses := route.Operation.Responses
	key := strconv.Itoa(status)
	documented := responses.Status(status)
	if documented == nil {
		key, documented = "default", responses.Default()
	}
	what := fmt.Sprintf("%s: %s %s answered %d %s %q", d.Name, req.Method, req.URL.RequestURI(), status, header.Get("Content-Type"), abbreviate(body))
	if documented == nil {
		t.Errorf("%s: the status is not documented for %s %s", what, route.Method, route.Path)
		return
	}
	d.mu.Lock()
	d.seen[route.Method+" "+route.Path+" "+key] = true
	d.mu.Unlock()
	if len(documented.Value.Content) == 0 && len(body) > 0 {
		t.Errorf("%s: the document gives this response no body", what)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			err = errors.Join(me...)
		}
		t.Errorf("%s: does not match the document: %v", what, err)
	}
}

// Do serves req with h in memory, checks the answer against the document
// and returns it. reqBody is what req sends; with wellFormed the request
// itself is checked too.
func (d *Document) Do(t testing.TB, h http.Handler, req *http.Request, wellFormed bool) *Answer {
	t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	if wellFormed {
		d.CheckRequest(t, req, reqBody)
	}
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	d.CheckResponse(t, req, rec.status, rec.header, rec.body.Bytes())
	return &Answer{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// Answer is a response as a test sees it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// recorder is an http.ResponseWriter in memory (httptest's recorder
// guesses a Content-Type where the handler set none, which would hide a
// missing one from the check).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// Unexercised returns the documented responses ("METHOD /path status",
// default included) that no checked answer has shown.
func (d *Document) Unexercised() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for path, item := range d.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				if k := method + " " + path + " " + status; !d.seen[k] {
					out = append(out, k)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Unreached returns the documented operations ("METHOD /path") that no
// checked answer has shown.
func (d *Document) Unreached() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, op := range d.Operations() {
		reached := false
		for k := range d.seen {
			if strings.HasPrefix(k, op+" ") {
				reached = true
			}
		}
		if !reached {
			out = append(out, op)
		}
	}
	return out
}

// Responses is how many responses the document documents.
func (d *Document) Responses() int {
	n := 0
	for _, item := range d.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			n += op.Responses.Len()
		}
	}
	return n
}

func abbreviate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// Operation turns a net/http ServeMux pattern ("GET /v1/users/{id}",
// "PUT /api/1/x/{id...}") into the operation an OpenAPI document names
// for it ("GET /v1/users/{id}"): a {name...} wildcard is the path
// parameter {name}, and a pattern without a method is every method
// (returned as "*").
func Operation(pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "*", pattern
	}
	path = strings.ReplaceAll(path, "...}", "}")
	path = strings.TrimSuffix(path, "{$}")
	return method + " " + path
}
