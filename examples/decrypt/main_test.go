package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, 2048, 1); err != nil {
		t.Fatalf("run() error = %v", err)
	}
	for _, want := range []string{"decrypted with the old key (retained)", "decrypted with the new key (current)", "key new: current, 1 use(s)", "key old: retained, 1 use(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run() output lacks %q:\n%s", want, out.String())
		}
	}
}
