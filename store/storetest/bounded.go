package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CheckBounded checks the sources of the store package in dir (its own
// directory, in the store's tests) for the two rules that keep an outage
// of the database a 503 rather than a hang or a 500:
//
//   - every exported method of *Store that takes a context starts with
//     `ctx, cancel := s.bound(ctx); defer cancel()`, so no call waits on
//     the database longer than the store's timeout (Migrate, Ping,
//     Backup and WatchSessionChanges are exempt: migrations and a copy of
//     the whole database may take long, Ping bounds itself, and the
//     change feed runs until its context ends, bounding each of its own
//     calls);
//   - no error leaves through latch.Internal, which would call a database
//     that cannot be reached Internal: the store's fail classifies it.
//
// A method added without the bound fails here rather than in production.
func CheckBounded(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	methods := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "latch" && sel.Sel.Name == "Internal" {
					t.Errorf("%s: latch.Internal in a store: use fail, which tells an unreachable database (503) from a bug (500)", fset.Position(sel.Pos()))
				}
			}
			return true
		})
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() || fn.Body == nil || !takesContext(fn) {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); !ok || star.X.(*ast.Ident).Name != "Store" {
				continue
			}
			if fn.Name.Name == "Migrate" || fn.Name.Name == "Ping" || fn.Name.Name == "Backup" || fn.Name.Name == "WatchSessionChanges" {
				continue
			}
			methods++
			body := fn.Body.List
			if len(body) < 2 || !isBound(src, fset, body[0]) || !isDeferCancel(src, fset, body[1]) {
				t.Errorf("%s: (*Store).%s does not start with `ctx, cancel := s.bound(ctx); defer cancel()`",
					fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
	if methods == 0 {
		t.Fatalf("no methods of *Store found in %s", dir)
	}
}

func takesContext(fn *ast.FuncDecl) bool {
	params := fn.Type.Params.List
	if len(params) == 0 {
		return false
	}
	sel, ok := params[0].Type.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Context" && len(params[0].Names) > 0 && params[0].Names[0].Name == "ctx"
}

func text(src []byte, fset *token.FileSet, n ast.Node) string {
	return strings.Join(strings.Fields(string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])), " ")
}

func isBound(src []byte, fset *token.FileSet, s ast.Stmt) bool {
	return text(src, fset, s) == "ctx, cancel := s.bound(ctx)"
}

func isDeferCancel(src []byte, fset *token.FileSet, s ast.Stmt) bool {
	return text(src, fset, s) == "defer cancel()"
}
