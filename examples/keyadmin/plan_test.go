package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// storeDigest returns a digest of every file of the store directory, to
// show that a command changed nothing.
func storeDigest(t *testing.T, dir string) [32]byte {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// TestRun_plan checks the plan at each stage: the dates follow the
// retention rules recorded with the renewal, and plan changes nothing.
func TestRun_plan(t *testing.T) {
	t.Parallel()
	k := newTool(t, "-guaranteed-delivery", "120d")
	k.initFixture()
	plan := func(at int, wants ...string) {
		t.Helper()
		before := storeDigest(t, k.dir)
		k.want(exitOK, t0.Add(day*time.Duration(at)), args("plan"), wants...)
		if storeDigest(t, k.dir) != before {
			t.Fatalf("keyadmin plan changed the key store")
		}
	}
	plan(0,
		"plan for a new renewal started now (2027-01-04T09:00:00Z); no renewal is in progress",
		"rules: the old key is kept 120 days after the last confirmation and 120 days after it last decrypted a response",
		"renewal due from 2046-09-22T06:57:04Z",
		stepLine("1", "create or import the new key pair", "allowed now"),
		stepLine("7", "remove the old key pair", "120 days after the last confirmation; no earlier than 2027-05-04T09:00:00Z"),
		"none yet: no renewal in progress")
	k.want(exitOK, t0, args("create -alias tenant-2027 -bits 2048"))
	k.want(exitOK, t0.Add(day), args("add"))
	plan(2,
		"plan for renewal 1 (stage key-added), as of 2027-01-06T09:00:00Z",
		stepLine("1", "create or import the new key pair", "done 2027-01-04T09:00:00Z"),
		stepLine("2", "add it to the key store", "done 2027-01-05T09:00:00Z"),
		stepLine("3", "provide the certificate to the receivers", "allowed now once every process holds the new key"),
		"no earlier than 2027-05-06T09:00:00Z (in 120 days) if it came now",
		"new key tenant-2027: no response decrypted with it recorded yet")
	k.want(exitOK, t0.Add(2*day), []string{"provide", "-receiver", "partner-a", "-receiver", "partner-b", "-to-dir", filepath.Join(k.tmp, "out")})
	k.want(exitOK, t0.Add(3*day), args("confirm -receiver partner-a -by bob -ref OPS-1"))
	plan(4,
		stepLine("3", "provide the certificate to the receivers", "done 2027-01-06T09:00:00Z"),
		stepLine("4-6", "receiver partner-a switches and confirms", "done 2027-01-07T09:00:00Z"),
		stepLine("4-6", "receiver partner-b switches and confirms", "waiting for the receiver's word"),
		"receiver partner-a: provided 2027-01-06T09:00:00Z")
	k.want(exitOK, t0.Add(5*day), args("confirm -receiver partner-b -by carol -ref OPS-2"))
	// A later run without -guaranteed-delivery still plans with the
	// 120 days recorded with the renewal.
	k.global = k.global[:len(k.global)-2]
	plan(6, stepLine("7", "remove the old key pair", "allowed from 2027-05-09T09:00:00Z (in 119 days)"))
	plan(130, "allowed now (since 2027-05-09T09:00:00Z)")
}

// stepLine is a step line of plan's output.
func stepLine(n, what, when string) string {
	return fmt.Sprintf("step %-4s %-40s %s", n, what, when)
}
