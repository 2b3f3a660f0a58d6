package layout

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Size limits of the code (STYLE.md §3): a file holds one concept and is
// split before it grows past maxFileLines; a function that needs more
// than maxComplexity decisions is split into steps a reader can follow.
const (
	maxFileLines  = 500
	maxComplexity = 25
)

// complexityExceptions are the functions allowed above maxComplexity, as
// "package-dir Type.method". Only the scanner's core loop may be listed
// here (internal/xmlscan fscan.run, fscan.markup, checkText): it
// dispatches on every byte class of the input in one place, because a
// call per token would cost a measurable share of decryption time. It
// fits within the limit today, so the list is empty.
var complexityExceptions = []string{}

// offender is a file over maxFileLines or a function over maxComplexity.
type offender struct {
	key  string // as in complexityExceptions
	what string // for the report
}

func TestSize(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	offenders, err := sizeOffenders(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offenders {
		if !slices.Contains(complexityExceptions, o.key) {
			t.Errorf("%s; split it (STYLE.md §3)", o.what)
		}
	}
}

// sizeOffenders returns the non-test Go files of the module above
// maxFileLines and the functions above maxComplexity.
func sizeOffenders(root string) ([]offender, error) {
	var out []offender
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "node_modules", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if n := bytes.Count(src, []byte("\n")); n > maxFileLines {
			out = append(out, offender{rel, fmt.Sprintf("%s has %d lines, more than %d", rel, n, maxFileLines)})
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			if c := complexity(fd); c > maxComplexity {
				key := filepath.ToSlash(filepath.Dir(rel)) + " " + funcName(fd)
				out = append(out, offender{key, fmt.Sprintf("%s: %s has cyclomatic complexity %d, more than %d", rel, funcName(fd), c, maxComplexity)})
			}
		}
		return nil
	})
	return out, err
}

// complexity is the cyclomatic complexity of a function as gocyclo
// counts it: one, plus one for each if, for, range, case (other than
// default), select case (other than default), && and ||. Function
// literals count toward the function that holds them.
func complexity(fn ast.Node) int {
	c := 1
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if n.List != nil {
				c++
			}
		case *ast.CommClause:
			if n.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}

// funcName returns "name" for a function and "Type.name" for a method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

func TestComplexity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		src  string
		want int
	}{
		{"empty", `func f() {}`, 1},
		{"if and else", `func f(a bool) { if a {} else {} }`, 2},
		{"loops", `func f(s []int) { for range s {}; for i := 0; i < 3; i++ {} }`, 3},
		{"switch", `func f(a int) { switch a { case 1, 2: case 3: default: } }`, 3},
		{"select", `func f(c chan int) { select { case <-c: default: } }`, 2},
		{"logic", `func f(a, b, c bool) bool { return a && b || c }`, 3},
		{"closure", `func f() { g := func(a bool) { if a {} }; g(true) }`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package x\n"+tc.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := complexity(f.Decls[0]); got != tc.want {
				t.Errorf("complexity(%s) = %d, want %d", tc.src, got, tc.want)
			}
		})
	}
}

func TestFuncName(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", `package x
func f() {}
func (s *T) m() {}
func (s T) v() {}
func (s *G[K]) g() {}
func (s H[K, V]) h() {}
`, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range f.Decls {
		got = append(got, funcName(d.(*ast.FuncDecl)))
	}
	want := []string{"f", "T.m", "T.v", "G.g", "H.h"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("funcName() mismatch (-want +got):\n%s", diff)
	}
}

// The check finds what it is meant to find: a long file and a complex
// function, and not a long test file or a file under testdata.
func TestSizeOffenders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := "package p\n" + strings.Repeat("\n", maxFileLines)
	complex := "package p\n\nfunc (s *T) f(a int) {\n" + strings.Repeat("\tif a > 0 {\n\t}\n", maxComplexity) + "}\n"
	for name, src := range map[string]string{
		"p/long.go":          long,
		"p/long_test.go":     long,
		"p/testdata/long.go": long,
		"p/complex.go":       complex,
		"p/ok.go":            "package p\n\nfunc g(a int) {\n\tif a > 0 {\n\t}\n}\n",
	} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sizeOffenders(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range got {
		keys = append(keys, o.key)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"p T.f", "p/long.go"}, keys); diff != "" {
		t.Errorf("sizeOffenders() mismatch (-want +got):\n%s", diff)
	}
}
