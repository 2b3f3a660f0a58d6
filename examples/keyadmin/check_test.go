package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

// TestRun_check runs the check command as a monitoring system would and
// checks its exit code and its one line, and that status shows the same.
func TestRun_check(t *testing.T) {
	t.Parallel()
	notAfter := testpki.Load(testpki.Old).Certificate.NotAfter
	tests := []struct {
		name   string
		global []string
		steps  []string // commands run at t0 first
		at     time.Time
		code   int
		line   string // prefix of the one line
	}{
		{"fresh store", nil, nil, t0, checkOK, "OK: certificate of tenant-2025 valid until 2046-11-21 06:57 UTC; renewal due from 2046-09-22 06:57 UTC"},
		{"renewal due", nil, nil, notAfter.Add(-50 * day), checkWarning, "WARNING: renewal due since 2046-09-22 06:57 UTC: certificate of tenant-2025 expires at 2046-11-21 06:57 UTC (50 days left)"},
		{"longer lead", []string{"-renewal-lead", "90d"}, nil, notAfter.Add(-80 * day), checkWarning, "WARNING: renewal due since 2046-08-23 06:57 UTC"},
		{"expires within half the lead", nil, nil, notAfter.Add(-10 * day), checkCritical, "CRITICAL: certificate of tenant-2025 expires at 2046-11-21 06:57 UTC, within 30 days"},
		{"expires within the guaranteed delivery time", []string{"-guaranteed-delivery", "45d"}, nil, notAfter.Add(-40 * day), checkCritical, "CRITICAL: certificate of tenant-2025 expires at 2046-11-21 06:57 UTC, within 45 days"},
		{"step 2 waits", nil, []string{"create -alias tenant-2027 -bits 2048"}, t0.Add(day), checkWarning, "WARNING: step 2 (add) of renewal 1 is allowed and waits for the operator since 2027-01-04 09:00 UTC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newTool(t, tc.global...)
			k.initFixture()
			for _, s := range tc.steps {
				k.want(exitOK, t0, args(s))
			}
			code, out := k.run(tc.at, "check")
			if code != tc.code || !strings.HasPrefix(out, tc.line) || strings.Count(out, "\n") != 1 {
				t.Fatalf("keyadmin check = exit %d, %q; want exit %d and one line starting %q", code, out, tc.code, tc.line)
			}
			reason := strings.TrimSpace(out[strings.Index(out, ": ")+2:])
			k.want(exitOK, tc.at, args("status"), "check: "+strings.ToLower(out[:strings.Index(out, ":")])+": "+reason, "renewal due from: ", "next step: ")
		})
	}
}

// TestRun_checkBroken checks that a store that cannot be read is critical
// and a broken command line is unknown (3), never ok.
func TestRun_checkBroken(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	code, out := k.run(t0, "check")
	if code != checkCritical || !strings.HasPrefix(out, "CRITICAL: no key can decrypt: cannot open the key store in "+k.dir) {
		t.Errorf("keyadmin check without a store = exit %d, %q; want critical", code, out)
	}
	k.initFixture()
	k.env["KEYADMIN_PW"] = "wrong password"
	if code, out := k.run(t0, "check"); code != checkCritical {
		t.Errorf("keyadmin check with a wrong password = exit %d, %q; want critical", code, out)
	}
	k.global = []string{"-dir", filepath.Join(k.tmp, "keys")} // no password source
	if code, out := k.run(t0, "check"); code != checkUnknown {
		t.Errorf("keyadmin check without a password = exit %d, %q; want %d", code, out, checkUnknown)
	}
	if code, out := k.run(t0, "check", "-bogus"); code != checkUnknown {
		t.Errorf("keyadmin check -bogus = exit %d, %q; want %d", code, out, checkUnknown)
	}
}
