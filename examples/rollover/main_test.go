package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun runs the demo briefly: every step happens, messages for both
// keys decrypt, none fails, and the last line is the summary.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	code, err := run(context.Background(), &out, config{bits: 2048, rate: 300, duration: 800 * time.Millisecond, clients: 3})
	if code != 0 || err != nil {
		t.Fatalf("run() = %d, %v\n%s", code, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, want := range []string{"step 1", "step 2", "step 3", "step 4", "step 5", "step 6", "removal refused after 89 days", "removed tenant-2025"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	m := regexp.MustCompile(`^requests: (\d+) old-key: (\d+) new-key: (\d+) failed: 0$`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line = %q, want the summary", lines[len(lines)-1])
	}
	total, _ := strconv.Atoi(m[1])
	old, _ := strconv.Atoi(m[2])
	nw, _ := strconv.Atoi(m[3])
	if old < 20 || nw == 0 || old+nw != total {
		t.Errorf("summary %q: want at least the 20 queued old-key responses, some new-key ones, and all decrypted", lines[len(lines)-1])
	}
}

func TestRun_badFlags(t *testing.T) {
	if code, err := run(context.Background(), &bytes.Buffer{}, config{bits: 2048, clients: 0, duration: time.Second}); code != 2 || err == nil {
		t.Fatalf("run(clients 0) = %d, %v; want 2 and an error", code, err)
	}
}
