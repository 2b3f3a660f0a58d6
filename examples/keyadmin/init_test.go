package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCmdInit_refusals checks what init refuses before it touches a key
// store: key flags that do not fit together, and a store directory that
// other users may write.
func TestCmdInit_refusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args string
		mode os.FileMode // of an existing store directory; 0: none
		code int
		want string
	}{
		{name: "subject with an imported key", args: "init -alias a -pem k.pem -subject CN=x", code: exitUsage, want: "are for a generated key"},
		{name: "validity with an imported key", args: "init -alias a -key k.pem -cert c.pem -validity 30d", code: exitUsage, want: "are for a generated key"},
		{name: "two import forms", args: "init -alias a -pem k.pem -pkcs12 a.p12", code: exitUsage, want: "give one of"},
		{name: "cert without key", args: "init -alias a -cert c.pem", code: exitUsage, want: "-key and -cert go together"},
		{name: "two file passwords", args: "init -alias a -pkcs12 a.p12 -file-password-env X -file-password-file f", code: exitUsage, want: "not both"},
		{name: "key flags checked after the request", args: "init -alias a -pem k.pem -validity forever", code: exitUsage, want: "-validity wants a positive duration"},
		{name: "group-writable directory", args: "init -alias a -subject CN=x -bits 2048", mode: 0o770, code: exitFailure, want: "writable by others (mode 0770)"},
		{name: "world-writable directory", args: "init -alias a -subject CN=x -bits 2048", mode: 0o703, code: exitFailure, want: "writable by others (mode 0703)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newTool(t)
			if tc.mode != 0 {
				if err := os.Mkdir(k.dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(k.dir, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			out := k.want(tc.code, t0, args(tc.args), tc.want)
			if _, err := os.Stat(filepath.Join(k.dir, "manifest.json")); err == nil {
				t.Errorf("keyadmin %s wrote a manifest; output:\n%s", tc.args, out)
			}
		})
	}
}

// A store directory that exists, empty and closed to others, is taken
// as it is.
func TestCmdInit_existingPrivateDir(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	if err := os.Mkdir(k.dir, 0o750); err != nil {
		t.Fatal(err)
	}
	out := k.want(exitOK, t0, args("init -alias a -subject CN=x -bits 2048"), "created key store "+k.dir)
	if strings.Contains(out, "writable by others") {
		t.Errorf("keyadmin init warned about a private directory:\n%s", out)
	}
}
