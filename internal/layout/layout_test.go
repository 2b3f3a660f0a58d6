package layout

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/wsrenew/wsrenew"

// allowed maps a package (relative to the module root) to the packages of
// this module its non-test files may import.
var allowed = map[string][]string{
	"":                {},
	"wssec":           {"internal/xmlenc", "internal/soap", "internal/xmlscan", "internal/c14n", "internal/x509id"},
	"keystore":        {"wssec", "internal/xmlenc", "internal/soap"},
	"rollover":        {"keystore", "wssec", "rollover/internal/procedure", "internal/x509id"},
	"rollover/signer": {"rollover", "keystore", "wssec", "rollover/internal/procedure"},
	// The core both renewal procedures are built on: part of rollover's
	// layer, so it speaks the key store's and wssec's types.
	"rollover/internal/procedure": {"keystore", "wssec"},
	"keystore/etcdstore":          {"keystore"},
	"keystore/pkcs11":             {"keystore"},
	"wssec/otelmetrics":           {"wssec"},
	"rollover/otelrenewal":        {"rollover", "keystore"},
	"internal/xmlenc":             {},
	"internal/soap":               {"internal/xmlscan"},
	"internal/xmlscan":            {},
	"internal/c14n":               {},
	// Certificate identifiers the key ring and the renewal procedure
	// both derive.
	"internal/x509id":    {},
	"internal/testpki":   {},
	"internal/interop":   {},
	"internal/fakeclock": {},
	"internal/etcdtest":  {},
	"internal/errtypes":  {},
	"internal/layout":    {},
	// The test helpers of both renewal procedures' tests.
	"rollover/internal/proctest": {"keystore", "wssec", "rollover/internal/procedure"},
}

// testOnly are imported by _test.go files only (and by the benchmark and
// vector-generating programs, which are tools, not library code).
var testOnly = []string{"rollover/internal/proctest", "internal/testpki", "internal/interop", "internal/fakeclock", "internal/etcdtest", "internal/errtypes"}

// public are the packages examples may import.
var public = []string{"wssec", "keystore", "keystore/etcdstore", "keystore/pkcs11", "rollover", "rollover/signer", "wssec/otelmetrics", "rollover/otelrenewal"}

// toolDirs hold programs that drive benchmarks or generate vectors.
var toolDirs = []string{"internal/bench"}

func TestImports(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
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
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		pkgs[rel] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		isTest := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != module && !strings.HasPrefix(p, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
			if msg := check(rel, dep, isTest); msg != "" {
				t.Errorf("%s imports %s: %s", strings.TrimPrefix(path, root+"/"), dep, msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range pkgs {
		if _, ok := allowed[p]; !ok && !strings.HasPrefix(p, "examples/") && !underAny(p, toolDirs) {
			t.Errorf("package %q is not in the layout table; add it there after review", p)
		}
	}
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// check returns why pkg may not import dep, or "".
func check(pkg, dep string, isTest bool) string {
	switch {
	case isTest:
		return "" // tests may use anything, test helpers included
	case underAny(pkg, toolDirs):
		if strings.HasPrefix(dep, "internal/") && !slices.Contains(testOnly, dep) {
			return "tools use the public API and the test fixtures only"
		}
		return ""
	case strings.HasPrefix(pkg, "examples/"):
		// An example may split itself into packages of its own, which
		// this rule checks in turn.
		if !slices.Contains(public, dep) && !underAny(dep, []string{exampleRoot(pkg)}) {
			return "examples use the public API only, because users copy them"
		}
		return ""
	case slices.Contains(testOnly, dep):
		return "test helpers are imported by _test.go files only"
	}
	if !slices.Contains(allowed[pkg], dep) {
		return "not allowed by the layout table (rollover -> keystore -> wssec -> internal)"
	}
	return ""
}

// exampleRoot returns the directory of the example that holds pkg, such
// as examples/rollover for examples/rollover/etcdbackend.
func exampleRoot(pkg string) string {
	parts := strings.SplitN(pkg, "/", 3)
	if len(parts) < 2 {
		return pkg
	}
	return parts[0] + "/" + parts[1]
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pkg, dep string
		test     bool
		ok       bool
	}{
		{"wssec", "internal/soap", false, true},
		{"wssec", "keystore", false, false},
		{"keystore", "rollover", false, false},
		{"rollover", "keystore", false, true},
		{"rollover/signer", "rollover/internal/procedure", false, true},
		{"rollover/internal/procedure", "rollover", false, false},
		{"keystore/etcdstore", "keystore", false, true},
		{"keystore/etcdstore", "rollover", false, false},
		{"keystore", "keystore/etcdstore", false, false},
		{"keystore/pkcs11", "keystore", false, true},
		{"keystore/pkcs11", "rollover", false, false},
		{"keystore", "keystore/pkcs11", false, false},
		{"rollover", "keystore/pkcs11", false, false},
		{"examples/keyadmin", "keystore/pkcs11", false, true},
		{"keystore/etcdstore", "internal/etcdtest", false, false},
		{"keystore/etcdstore", "internal/etcdtest", true, true},
		{"examples/demo", "keystore/etcdstore", false, true},
		{"internal/soap", "wssec", false, false},
		{"internal/soap", "internal/xmlscan", false, true},
		{"internal/xmlscan", "internal/soap", false, false},
		{"wssec", "internal/testpki", false, false},
		{"wssec", "internal/testpki", true, true},
		{"examples/demo", "wssec", false, true},
		{"examples/demo", "internal/soap", false, false},
		{"examples/demo", "examples/demo/etcd", false, true},
		{"examples/demo/etcd", "keystore/etcdstore", false, true},
		{"examples/demo/etcd", "internal/etcdtest", false, false},
		{"examples/demo", "examples/other", false, false},
		{"examples/demo", "examples/other/etcd", false, false},
		{"internal/bench/gen", "internal/testpki", false, true},
		{"internal/bench/gen", "internal/soap", false, false},
	} {
		if got := check(tc.pkg, tc.dep, tc.test) == ""; got != tc.ok {
			t.Errorf("check(%s -> %s, test=%v) ok = %v, want %v", tc.pkg, tc.dep, tc.test, got, tc.ok)
		}
	}
}
