package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// JobError is the failure of one job of a batch, as the tool reported it.
type JobError struct {
	Tool    string
	Line    int    // 1-based line of the job in the batch
	Message string // the tool's own words
}

func (e *JobError) Error() string {
	return fmt.Sprintf("%s job %d: %s", e.Tool, e.Line, e.Message)
}

// runBatch runs cmd, which reads one job per line from stdin and reports
// "ok N" or "FAIL N: reason" per job on stdout. It returns one error per job
// (nil for success), or an error if the tool did not report on every job.
func runBatch(tool string, cmd *exec.Cmd, jobs []string) ([]error, error) {
	for i, j := range jobs {
		if strings.ContainsAny(j, "\r\n") {
			return nil, fmt.Errorf("interop: %s job %d contains a line break", tool, i+1)
		}
	}
	cmd.Stdin = strings.NewReader(strings.Join(jobs, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	runErr := cmd.Run()

	results := make([]error, len(jobs))
	seen := make([]bool, len(jobs))
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		var status, rest string
		switch {
		case strings.HasPrefix(line, "ok "):
			status, rest = "ok", strings.TrimPrefix(line, "ok ")
		case strings.HasPrefix(line, "FAIL "):
			status, rest = "FAIL", strings.TrimPrefix(line, "FAIL ")
		default:
			continue
		}
		num, msg, _ := strings.Cut(rest, ": ")
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil || n < 1 || n > len(jobs) {
			continue
		}
		seen[n-1] = true
		if status == "FAIL" {
			results[n-1] = &JobError{Tool: tool, Line: n, Message: msg}
		}
	}
	for i, ok := range seen {
		if !ok {
			msg := strings.TrimSpace(stderr.String())
			if runErr != nil {
				msg = runErr.Error() + ": " + msg
			}
			return results, fmt.Errorf("interop: %s did not report on job %d: %s", tool, i+1, msg)
		}
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return results, fmt.Errorf("interop: %s: %w", tool, runErr)
	}
	return results, nil
}
