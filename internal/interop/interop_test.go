package interop

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestExecutable(t *testing.T) {
	t.Parallel()
	if p, why := Executable("go", "install Go").Find(); p == "" {
		t.Fatalf("Executable(go).Find() = %q, %q; want a path", p, why)
	}
	if p, why := Executable("wsrenew-no-such-tool", "nothing").Find(); p != "" || why == "" {
		t.Fatalf("Executable(missing).Find() = %q, %q; want no path and a reason", p, why)
	}
	if p, why := File("x", "/nonexistent/wsrenew.jar", "nothing").Find(); p != "" || why == "" {
		t.Fatalf("File(missing).Find() = %q, %q; want no path and a reason", p, why)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	if _, err := Find(Executable("go", "install Go")); err != nil {
		t.Fatalf("Find(go) error = %v, want nil", err)
	}
	_, err := Find(Executable("go", "install Go"), Executable("wsrenew-no-such-tool", "nothing"))
	if err == nil || !strings.Contains(err.Error(), "wsrenew-no-such-tool") {
		t.Fatalf("Find(missing) error = %v, want one naming the tool", err)
	}
}

func TestSessionKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri, want string
	}{
		{"http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"},
		{"http://www.w3.org/2009/xmlenc11#aes192-gcm", "aes-192"},
		{"http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256"},
		{"http://www.w3.org/2001/04/xmlenc#tripledes-cbc", "des-192"},
	}
	for _, tc := range tests {
		if got, err := SessionKey(tc.uri); err != nil || got != tc.want {
			t.Errorf("SessionKey(%s) = %q, %v, want %q", tc.uri, got, err, tc.want)
		}
	}
	if _, err := SessionKey("http://www.w3.org/2001/04/xmlenc#kw-aes128"); err == nil {
		t.Errorf("SessionKey(kw-aes128) error = nil, want an error")
	}
}

func TestRunBatch(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	tests := []struct {
		name    string
		script  string
		wantErr bool
		failed  []bool
	}{
		{"all ok", `echo "ok 1"; echo "ok 2"`, false, []bool{false, false}},
		{"one failure", `echo "ok 1"; echo "FAIL 2: bad padding: x"; exit 1`, false, []bool{false, true}},
		{"missing report", `echo "ok 1"; echo boom >&2; exit 3`, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs, err := runBatch("sh", exec.Command(sh, "-c", tc.script), []string{"a", "b"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("runBatch() error = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			for i, want := range tc.failed {
				if (errs[i] != nil) != want {
					t.Errorf("runBatch() job %d error = %v, want failure %v", i+1, errs[i], want)
				}
			}
			if tc.failed[1] {
				var je *JobError
				if !errors.As(errs[1], &je) || je.Message != "bad padding: x" {
					t.Errorf("runBatch() job 2 error = %#v, want JobError with the tool's message", errs[1])
				}
			}
		})
	}
}
