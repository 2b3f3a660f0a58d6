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
// keystore/etcdstore: the etcd client and gRPC.
var heavy = []string{"go.etcd.io/", "google.golang.org/grpc"}

// deps returns every package pkg depends on, pkg included, as go list
// -deps prints them.
func deps(t *testing.T, goTool, root, pkg string) []string {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = root
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
// not use the etcd backend, must not compile etcd or gRPC into a binary.
func TestDeps_noEtcd(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []string{"./wssec", "./keystore", "./rollover"}
	examples, err := os.ReadDir(filepath.Join(root, "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		if e.IsDir() {
			pkgs = append(pkgs, "./examples/"+e.Name())
		}
	}
	etcdstore := module + "/keystore/etcdstore"
	for _, pkg := range pkgs {
		ds := deps(t, goTool, root, pkg)
		if strings.HasPrefix(pkg, "./examples/") && slices.Contains(ds, etcdstore) {
			continue // the example offers the etcd backend, so it needs etcd
		}
		for _, d := range ds {
			for _, h := range heavy {
				if strings.HasPrefix(d, h) {
					t.Errorf("%s depends on %s; only importers of keystore/etcdstore may", pkg, d)
				}
			}
		}
	}
	// The check can fail: the etcd backend itself depends on both. It
	// uses the client only; the server is for tests (internal/etcdtest).
	ds := strings.Join(deps(t, goTool, root, "./keystore/etcdstore"), " ")
	for _, h := range heavy {
		if !strings.Contains(ds, " "+h) {
			t.Errorf("keystore/etcdstore does not depend on %s; is the check looking at the right packages?", h)
		}
	}
	if strings.Contains(ds, "go.etcd.io/etcd/server/") {
		t.Error("keystore/etcdstore depends on the etcd server; only tests may")
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
