package keystore_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/keystore"
)

// TestErrorTypes_ZeroValue instantiates every exported error type of the
// package zero-valued and checks that Error, Unwrap and errors.Is do not
// panic. The list of types is read from the package's source, so a new
// error type without an entry in zeroErrors fails the test.
func TestErrorTypes_ZeroValue(t *testing.T) {
	zeroErrors := []error{
		&keystore.ManifestError{},
		&keystore.EntryError{},
		&keystore.StatusError{},
		&keystore.ParseError{},
		&keystore.TokenError{},
		&keystore.ClockError{},
		&keystore.ExpiryError{},
		&keystore.OutcomeError{},
	}
	var listed []string
	for _, e := range zeroErrors {
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
			if msg := e.Error(); !strings.HasPrefix(msg, "keystore: ") {
				t.Errorf("(&%s{}).Error() = %q, want the package prefix", rt.Name(), msg)
			}
			// errors.Is walks every Unwrap of the tree.
			_ = errors.Is(e, errors.ErrUnsupported)
		}()
	}
	sort.Strings(listed)
	if diff := cmp.Diff(exportedErrorTypes(t), listed); diff != "" {
		t.Errorf("exported error types (-in source +in test):\n%s", diff)
	}
}

// exportedErrorTypes returns the names of the exported types of the
// package's non-test files that have an Error method.
func exportedErrorTypes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
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
			if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
				seen[id.Name] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
