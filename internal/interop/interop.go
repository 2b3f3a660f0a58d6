// Package interop decides whether tests that drive third-party tools (Java
// with WSS4J, xmlsec1, Node) run, skip or fail, and locates those tools.
//
// A test calls [Require] with the tools it needs. If one is missing the test
// is skipped with a message naming it, unless WSRENEW_INTEROP=require is set
// in the environment, in which case the test fails instead. CI sets it, so a
// missing install step cannot hide behind a skip.
package interop

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// EnvVar is the environment variable that turns skips into failures.
const EnvVar = "WSRENEW_INTEROP"

// Required reports whether WSRENEW_INTEROP=require is set.
func Required() bool { return os.Getenv(EnvVar) == "require" }

// Tool is one external program a test may need.
type Tool struct {
	Name string // shown in skip and failure messages
	// Find returns the tool's path, or a reason it is not usable.
	Find func() (string, string)
}

// Executable is a Tool found on PATH under the given command name.
func Executable(name, install string) Tool {
	return Tool{Name: name, Find: func() (string, string) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", name + " not found on PATH (" + install + ")"
		}
		return p, ""
	}}
}

// File is a Tool that is a file at a fixed path, such as a Debian jar.
func File(name, path, install string) Tool {
	return Tool{Name: name, Find: func() (string, string) {
		if _, err := os.Stat(path); err != nil {
			return "", name + " not found at " + path + " (" + install + ")"
		}
		return path, ""
	}}
}

// Find returns the paths of the tools, in order, or an error naming the
// first one that is missing. Programs outside tests use it; tests use
// [Require].
func Find(tools ...Tool) ([]string, error) {
	paths := make([]string, len(tools))
	for i, tool := range tools {
		p, why := tool.Find()
		if why != "" {
			return nil, errors.New("interop: " + why)
		}
		paths[i] = p
	}
	return paths, nil
}

// Require returns the paths of the tools, in order. If any is missing it
// skips the test, or fails it when [Required] is true.
func Require(t testing.TB, tools ...Tool) []string {
	t.Helper()
	paths := make([]string, len(tools))
	for i, tool := range tools {
		p, why := tool.Find()
		if why != "" {
			if Required() {
				t.Fatalf("interop: %s; %s=require is set, so this is a failure", why, EnvVar)
			}
			t.Skipf("interop: skipping: %s; set %s=require to make this a failure", why, EnvVar)
		}
		paths[i] = p
	}
	return paths
}
