package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// heavy are import path prefixes that a program gets only by importing
// the package of this module that needs them: the etcd client and gRPC
// through keystore/etcdstore, cgo's PKCS#11 wrappers through
// keystore/pkcs11.
var heavy = []struct {
	via      string
	prefixes []string
}{
	{"keystore/etcdstore", []string{"go.etcd.io/", "google.golang.org/grpc"}},
	{"keystore/pkcs11", []string{"github.com/ThalesGroup/crypto11", "github.com/miekg/pkcs11"}},
}

// lean are the packages that must depend on none of heavy, even if they
// imported a package that brings some: the library packages, and the
// examples that keep their keys in files.
var lean = []string{"./wssec", "./keystore", "./rollover", "./examples/rollover", "./examples/decrypt"}

// deps returns every package pkg depends on, pkg included, as go list
// -deps prints them for a build with cgo (the build that has the most
// dependencies).
func deps(t *testing.T, goTool, root, pkg string) []string {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

// Importing wssec, keystore or rollover, or building an example that does
// not use the etcd backend or PKCS#11 tokens, must not compile etcd, gRPC
// or a PKCS#11 wrapper (and cgo) into a binary.
func TestDeps_noHeavy(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := slices.Clone(lean)
	examples, err := os.ReadDir(filepath.Join(root, "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		if p := "./examples/" + e.Name(); e.IsDir() && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	for _, pkg := range pkgs {
		ds := deps(t, goTool, root, pkg)
		for _, h := range heavy {
			if !slices.Contains(lean, pkg) && slices.Contains(ds, module+"/"+h.via) {
				continue // the example offers the feature, so it needs its dependencies
			}
			for _, d := range ds {
				for _, p := range h.prefixes {
					if strings.HasPrefix(d, p) {
						t.Errorf("%s depends on %s; only importers of %s may", pkg, d, h.via)
					}
				}
			}
		}
	}
	// The check can fail: each package that brings dependencies depends
	// on all of them.
	for _, h := range heavy {
		ds := strings.Join(deps(t, goTool, root, "./"+h.via), " ")
		for _, p := range h.prefixes {
			if !strings.Contains(ds, " "+p) {
				t.Errorf("%s does not depend on %s; is the check looking at the right packages?", h.via, p)
			}
		}
		// The etcd backend uses the client only; the server is for
		// tests (internal/etcdtest).
		if strings.Contains(ds, "go.etcd.io/etcd/server/") {
			t.Errorf("%s depends on the etcd server; only tests may", h.via)
		}
	}
	// OpenTelemetry reaches only importers of the metrics adapter.
	for _, pkg := range []string{"./wssec", "./keystore", "./rollover"} {
		for _, d := range deps(t, goTool, root, pkg) {
			if strings.HasPrefix(d, "go.opentelemetry.io/") {
				t.Errorf("%s depends on %s; only importers of wssec/otelmetrics may", pkg, d)
			}
		}
	}
	if ds := deps(t, goTool, root, "./wssec/otelmetrics"); !slices.Contains(ds, "go.opentelemetry.io/otel/metric") {
		t.Error("wssec/otelmetrics does not depend on go.opentelemetry.io/otel/metric; is the check looking at the right packages?")
	}
}
