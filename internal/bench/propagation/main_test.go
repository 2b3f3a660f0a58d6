package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// One round with one follower on a directory store: the command
// generates its keys, creates the store, follows it and reports one
// sample.
func TestRun_dir(t *testing.T) {
	if testing.Short() {
		t.Skip("generates RSA keys and follows a store")
	}
	var out bytes.Buffer
	if err := run("dir", 3, 1, 1, true, &out); err != nil {
		t.Fatalf("run(dir) error = %v", err)
	}
	var got result
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("run(dir) printed %q: %v", out.String(), err)
	}
	want := result{Backend: "dir", Followers: 1, Rounds: 1, Watch: true, Samples: 1, PollMillis: 1000}
	ignore := cmpopts.IgnoreFields(result{}, "CommitP50", "P50", "P99", "Max")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("run(dir) result mismatch (-want +got):\n%s", diff)
	}
}

func TestRun_unknownBackend(t *testing.T) {
	t.Parallel()
	err := run("tape", 1, 1, 1, true, new(bytes.Buffer))
	if err == nil || !strings.Contains(err.Error(), `unknown backend "tape"`) {
		t.Errorf("run(tape) error = %v, want unknown backend", err)
	}
}

func TestCreate_openFails(t *testing.T) {
	t.Parallel()
	errOpen := errors.New("open refused")
	_, err := create(context.Background(), func() (backend, error) { return nil, errOpen }, nil)
	if !errors.Is(err, errOpen) {
		t.Errorf("create() error = %v, want %v", err, errOpen)
	}
}
