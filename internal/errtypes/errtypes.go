// Package errtypes checks a package's exported error types for its
// tests: each must print, unwrap and match without panicking when it is
// the zero value, and the test must list every one the package declares.
// It is imported only by _test.go files.
package errtypes

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// CheckZero checks that each of errs is the zero value of its type, that
// its Error text starts with prefix and that errors.Is can walk it, all
// without a panic; and that errs holds one value of every exported type
// with an Error method declared in the non-test Go files of the current
// directory (the package under test).
func CheckZero(t *testing.T, prefix string, errs []error) {
	t.Helper()
	var listed []string
	for _, e := range errs {
		rt := reflect.TypeOf(e).Elem()
		listed = append(listed, rt.Name())
		// The value must really be zero: a new field or a literal with
		// content would defeat the point of the test.
		if !reflect.ValueOf(e).Elem().IsZero() {
			t.Errorf("%s: entry is not the zero value", rt.Name())
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("(&%s{}): panic: %v", rt.Name(), r)
				}
			}()
			if msg := e.Error(); !strings.HasPrefix(msg, prefix) {
				t.Errorf("(&%s{}).Error() = %q, want the prefix %q", rt.Name(), msg, prefix)
			}
			// errors.Is walks every Unwrap of the tree.
			_ = errors.Is(e, errors.ErrUnsupported)
		}()
	}
	slices.Sort(listed)
	declared := exported(t)
	for _, n := range declared {
		if !slices.Contains(listed, n) {
			t.Errorf("exported error type %s is not listed in the test", n)
		}
	}
	for _, n := range listed {
		if !slices.Contains(declared, n) {
			t.Errorf("listed type %s is not an exported error type of the package", n)
		}
	}
}

// exported returns the names of the exported types of the current
// directory's non-test files that have an Error method.
func exported(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Error" || len(fn.Recv.List) != 1 {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok && id.IsExported() && !slices.Contains(out, id.Name) {
				out = append(out, id.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}
