package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRun runs the example and checks that the exporter wrote every
// decryption metric.
func TestRun(t *testing.T) {
	var out, log bytes.Buffer
	if err := run(&out, &log); err != nil {
		t.Fatalf("run() error = %v", err)
	}
	for _, want := range []string{`"wsrenew.decrypt.count"`, `"wsrenew.decrypt.duration"`, `"wsrenew.decrypt.size"`, `"wsrenew.key.certificate.days_remaining"`, `"Value": "malformed"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run() output lacks %s:\n%s", want, out.String())
		}
	}
	if !strings.Contains(log.String(), "a broken one: malformed") {
		t.Errorf("run() log = %q", log.String())
	}
}
