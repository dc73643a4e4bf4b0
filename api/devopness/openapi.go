package devopness

import (
	_ "embed"
	"slices"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the surface's OpenAPI 3.1 document (served at
// /v1/openapi/devopness.yaml).
func OpenAPI() []byte { return slices.Clone(openAPI) }
