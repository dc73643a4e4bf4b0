package testenv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEveryCodeIsListed fails when a package below the surfaces declares
// an exported Code constant, or builds an Error with a literal code, that
// EveryCode does not list: every surface's mapping test would miss it.
func TestEveryCodeIsListed(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	listed := EveryCode()
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == ".":
				return nil
			case rel == "tools", rel == "internal", rel == "cmd", rel == "web", strings.HasPrefix(rel, "."),
				strings.HasPrefix(rel, "api"+string(filepath.Separator)) && rel != filepath.Join("api", "httpx"):
				// Surfaces own their codes; tools and tests are not use cases.
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		check := func(what string, lit ast.Expr) {
			bl, ok := lit.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return
			}
			code, _ := strconv.Unquote(bl.Value)
			found++
			if !slices.Contains(listed, code) {
				t.Errorf("%s: %s %q is not in EveryCode", rel, what, code)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if strings.HasPrefix(name.Name, "Code") && i < len(n.Values) {
						check("constant "+name.Name, n.Values[i])
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					check("literal code", n.Value)
				}
			case *ast.CallExpr:
				// latch.Errorf(kind, "code", ...) and FieldError(field, "code", ...)
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && len(n.Args) >= 2 {
					switch sel.Sel.Name {
					case "Errorf", "FieldError":
						check(sel.Sel.Name+" code", n.Args[1])
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 40 {
		t.Fatalf("found only %d codes in the source: the walk is broken", found)
	}
}
