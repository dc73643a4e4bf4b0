package httpx

import "net/http"

// Mux is where a surface registers its routes. *http.ServeMux is one; the
// api package hands the surfaces a recorder around its mux, so that the
// whole service's routes can be listed (and checked against the OpenAPI
// documents) without asking each surface.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}
