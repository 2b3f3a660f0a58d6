package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Each process of the demo is this program started again with its role
// in the environment: replicas of the middleware, and the operator's
// steps.
const (
	roleVar     = "WSRENEW_DEMO_ROLE"
	argsVar     = "WSRENEW_DEMO_ARGS"
	passwordVar = "WSRENEW_PASSWORD"
)

// dispatchRole runs the role named in the environment, if any, and
// reports whether there was one. etcd is the etcd support of this build
// (nil: none).
func dispatchRole(etcd *etcdSupport) (bool, error) {
	role := os.Getenv(roleVar)
	if role == "" {
		return false, nil
	}
	ctx := context.Background()
	switch role {
	case "replica":
		var a replicaArgs
		if err := json.Unmarshal([]byte(os.Getenv(argsVar)), &a); err != nil {
			return true, err
		}
		a.Backend.etcd = etcd
		return true, replica(ctx, a, os.Stdin, os.Stdout)
	case "operator":
		var a operatorArgs
		if err := json.Unmarshal([]byte(os.Getenv(argsVar)), &a); err != nil {
			return true, err
		}
		a.Backend.etcd = etcd
		return true, operator(ctx, a, os.Stdout, os.Stderr)
	}
	return true, fmt.Errorf("unknown role %q", role)
}

// command prepares this program to run as role with args.
func command(ctx context.Context, role string, args any, password string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), roleVar+"="+role, argsVar+"="+string(js), passwordVar+"="+password)
	return cmd, nil
}

// runOperator takes one step in an operator process and returns what it
// printed.
func runOperator(ctx context.Context, password string, a operatorArgs, logs io.Writer) (operatorResult, error) {
	cmd, err := command(ctx, "operator", a, password)
	if err != nil {
		return operatorResult{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(&stderr, logs)
	if err := cmd.Run(); err != nil {
		return operatorResult{}, fmt.Errorf("step %s: %w: %s", a.Step, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res operatorResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return operatorResult{}, fmt.Errorf("step %s: %w", a.Step, err)
	}
	return res, nil
}

// process is one running replica process, or the last report of one
// that was killed.
type process struct {
	id    string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the process's output ended

	mu   sync.Mutex
	last replicaReport
	err  error
}

// startReplica starts a replica process and waits until it follows the
// store and is registered as a holder.
func startReplica(ctx context.Context, password string, a replicaArgs) (*process, error) {
	cmd, err := command(ctx, "replica", a, password)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{id: a.ID, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	ready := make(chan struct{})
	go p.read(stdout, ready)
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		cmd.Wait()
		return nil, fmt.Errorf("replica %s stopped before it was ready", a.ID)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("replica %s not ready after 30s", a.ID)
	}
}

func (p *process) read(r io.Reader, ready chan struct{}) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var rep replicaReport
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			p.mu.Lock()
			p.err = fmt.Errorf("replica %s printed %q", p.id, sc.Text())
			p.mu.Unlock()
			continue
		}
		if rep.Ready {
			close(ready)
			continue
		}
		p.mu.Lock()
		p.last = rep
		p.mu.Unlock()
	}
}

// report returns what the replica last reported.
func (p *process) report() (replicaReport, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.err
}

// stop asks the replica to finish its requests and waits for its last
// report.
func (p *process) stop() error {
	p.stdin.Close()
	<-p.done
	return p.cmd.Wait()
}

// kill ends the replica at once, as a crash or an OOM kill would: its
// requests in flight never complete, its holder record stays until its
// lease ends.
func (p *process) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // killed, as intended
	}
	return err
}
