package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// operatorArgs is what an operator process is started with: one step of
// the procedure, as an administrator takes it with a tool of their own.
type operatorArgs struct {
	Backend backendConfig `json:"backend"`
	Step    string        `json:"step"`
	// Offset is how far the procedure's clock is ahead of the wall
	// clock: the demo compresses months into seconds.
	Offset  time.Duration `json:"offset"`
	Bits    int           `json:"bits"`
	Verbose bool          `json:"verbose"`
}

// operatorResult is what an operator process prints.
type operatorResult struct {
	Time        time.Time `json:"time"`
	Message     string    `json:"message"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	AllowedAt   time.Time `json:"allowedAt,omitzero"`
	Waited      []string  `json:"waited,omitempty"` // holders step 3 waited for
}

const (
	oldAlias = "tenant-2025"
	newAlias = "tenant-2026"
	receiver = "partner"
)

// operator takes one step in its own process: it opens the store,
// resumes the procedure where the store says it stands, and takes the
// step.
func operator(ctx context.Context, a operatorArgs, out, logs io.Writer) error {
	b, closeBackend, err := a.Backend.open(ctx)
	if err != nil {
		return err
	}
	defer closeBackend()
	now := func() time.Time { return time.Now().Add(a.Offset) }
	if !a.Verbose {
		logs = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	store, err := keystore.Open(ctx, b, keystore.PasswordEnv(passwordVar), keystore.Options{Now: now})
	if err != nil {
		return err
	}
	m, err := rollover.NewManager(store, rollover.Options{Now: now, Logger: logger, Actor: "operator"})
	if err != nil {
		return err
	}
	stage, err := m.Resume(ctx)
	if err != nil {
		return err
	}
	res, err := takeStep(ctx, a, m, stage)
	if err != nil {
		return err
	}
	res.Time = now()
	return json.NewEncoder(out).Encode(res)
}

// takeStep takes the step a names, if the store stands where it comes.
func takeStep(ctx context.Context, a operatorArgs, m *rollover.Manager, stage rollover.Stage) (operatorResult, error) {
	wrong := fmt.Errorf("step %s: the store holds stage %s", a.Step, stage.Report().Stage)
	switch a.Step {
	case "create":
		return step(stage, wrong, func(idle *rollover.Idle) (operatorResult, error) { return create(ctx, idle, a.Bits) })
	case "add":
		return step(stage, wrong, func(created *rollover.KeyPairCreated) (operatorResult, error) { return add(ctx, created) })
	case "provide":
		return step(stage, wrong, func(added *rollover.KeyAdded) (operatorResult, error) { return provide(ctx, added) })
	case "confirm":
		return step(stage, wrong, func(provided *rollover.CertificateProvided) (operatorResult, error) { return confirm(ctx, provided) })
	case "remove":
		return step(stage, wrong, func(switched *rollover.ReceiversSwitched) (operatorResult, error) { return remove(ctx, switched) })
	}
	return operatorResult{}, fmt.Errorf("unknown step %q", a.Step)
}

// step runs take on stage if stage is the S the step starts from, and
// returns wrong otherwise.
func step[S rollover.Stage](stage rollover.Stage, wrong error, take func(S) (operatorResult, error)) (operatorResult, error) {
	s, ok := stage.(S)
	if !ok {
		return operatorResult{}, wrong
	}
	return take(s)
}

// create takes step 1: a new key pair, pending.
func create(ctx context.Context, idle *rollover.Idle, bits int) (operatorResult, error) {
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: newAlias, Bits: bits})
	if err != nil {
		return operatorResult{}, err
	}
	nk := created.Report().New
	return operatorResult{Message: fmt.Sprintf("created key pair %s (RSA-%d, pending, %s)", nk.Alias, bits, nk.Fingerprint.String()), Fingerprint: nk.Fingerprint.String()}, nil
}

// add takes step 2: the new key becomes current, the old one stays.
func add(ctx context.Context, created *rollover.KeyPairCreated) (operatorResult, error) {
	if _, err := created.AddToKeyStore(ctx); err != nil {
		return operatorResult{}, err
	}
	return operatorResult{Message: fmt.Sprintf("added %s to the key store: current; %s retained with no expiry, both decrypt", newAlias, oldAlias)}, nil
}

// confirm records step 6: the partner's administrator confirmed the
// switch, which sets the old key's expiry.
func confirm(ctx context.Context, provided *rollover.CertificateProvided) (operatorResult, error) {
	next, err := provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: receiver, By: "partner administrator", Reference: "CHG-4711"})
	if err != nil {
		return operatorResult{}, err
	}
	switched, ok := next.(*rollover.ReceiversSwitched)
	if !ok {
		return operatorResult{}, fmt.Errorf("after the confirmation the procedure is at %s", next.Report().Stage)
	}
	return operatorResult{Message: fmt.Sprintf("partner confirmed the switch (CHG-4711); %s kept until %s", oldAlias, switched.Report().OldKeyExpires.Format(timeFormat)), AllowedAt: switched.Report().OldKeyExpires}, nil
}

// remove takes step 7, or reports from when it is allowed.
func remove(ctx context.Context, switched *rollover.ReceiversSwitched) (operatorResult, error) {
	_, err := switched.RemoveOldKey(ctx)
	if re := (*rollover.RemovalError)(nil); errors.As(err, &re) {
		return operatorResult{Message: "removal refused", AllowedAt: re.AllowedAt}, nil
	}
	if err != nil {
		return operatorResult{}, err
	}
	return operatorResult{Message: fmt.Sprintf("removed %s; receivers encrypt only to %s", oldAlias, newAlias)}, nil
}

// provide takes step 3. The procedure refuses it while a process that
// decrypts has not loaded the new key, so the operator tries again until
// every live holder has it (a holder that died drops out when its lease
// ends).
func provide(ctx context.Context, added *rollover.KeyAdded) (operatorResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var waited []string
	for {
		provided, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: receiver, Description: "orders service"}}, Note: "sent by mail"})
		var he *rollover.HoldersError
		if errors.As(err, &he) {
			for _, l := range he.Laggards {
				waited = appendNew(waited, l.ID)
			}
			select {
			case <-ctx.Done():
				return operatorResult{}, err
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return operatorResult{}, err
		}
		bundle, err := provided.Bundle()
		if err != nil {
			return operatorResult{}, err
		}
		msg := fmt.Sprintf("every replica holds %s and passed its self-test; certificate given to partner (SHA-256 %s)", newAlias, wssec.FingerprintOf(bundle.Certificate))
		return operatorResult{Message: msg, Waited: waited}, nil
	}
}

func appendNew(list []string, item string) []string {
	if slices.Contains(list, item) {
		return list
	}
	return append(list, item)
}
