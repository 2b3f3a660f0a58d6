package rollover_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestErrors checks the text and the unwrapping of the typed errors.
func TestErrors(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 4, 4, 9, 0, 0, 0, time.UTC)
	fp := fingerprint(testpki.Old)
	proctest.CheckErrors(t, []proctest.ErrorCase{
		{
			Name:     "stale stage",
			Err:      &rollover.StageError{Op: "AddToKeyStore", Stage: rollover.StageKeyPairCreated, Stored: rollover.StageKeyAdded, Renewal: 3, Stale: true},
			WantText: "rollover: AddToKeyStore refused: stage key-pair-created is stale, the store holds stage key-added of renewal 3",
			WantIs:   []error{rollover.ErrStaleStage},
			NotIs:    []error{rollover.ErrRenewalInProgress, rollover.ErrCannotCancel},
		},
		{
			Name:     "renewal in progress",
			Err:      &rollover.StageError{Op: "Begin", Stored: rollover.StageReceiversSwitched, Renewal: 3, AllowedAt: at, Err: rollover.ErrRenewalInProgress},
			WantText: "rollover: Begin refused: the store holds stage receivers-switched of renewal 3; a renewal is in progress; allowed from 2027-04-04T09:00:00Z",
			WantIs:   []error{rollover.ErrRenewalInProgress},
			NotIs:    []error{rollover.ErrStaleStage},
		},
		{
			Name:     "too late to cancel",
			Err:      &rollover.StageError{Op: "Cancel", Stage: rollover.StageKeyAdded, Stored: rollover.StageCertificateProvided, Renewal: 1, Stale: true, Err: rollover.ErrCannotCancel},
			WantText: "rollover: Cancel refused: stage key-added is stale, the store holds stage certificate-provided of renewal 1; the certificate was provided to receivers, so the renewal can no longer be cancelled",
			WantIs:   []error{rollover.ErrStaleStage, rollover.ErrCannotCancel},
		},
		{
			Name: "new key in use",
			Err: &rollover.StageError{Op: "Cancel", Stage: rollover.StageKeyAdded, Stored: rollover.StageKeyAdded, Renewal: 1,
				Reason: "the new key tenant-2027 may be in use: the key store refused", Err: rollover.ErrCannotCancel, Cause: keystore.ErrProvided},
			WantText: "rollover: Cancel refused: the new key tenant-2027 may be in use: the key store refused: " + keystore.ErrProvided.Error(),
			WantIs:   []error{rollover.ErrCannotCancel, keystore.ErrProvided},
			NotIs:    []error{rollover.ErrStaleStage},
		},
		{
			Name:     "retention",
			Err:      &rollover.RemovalError{Alias: "tenant-2025", Fingerprint: fp, AllowedAt: at},
			WantText: "rollover: old key tenant-2025 (" + fp.String() + ") cannot be removed yet: the retention period has not elapsed; allowed from 2027-04-04T09:00:00Z",
			WantIs:   []error{wssec.ErrRetentionNotElapsed},
			NotIs:    []error{rollover.ErrKeyInUse, rollover.ErrReceiversPending},
		},
		{
			Name:     "receivers pending",
			Err:      &rollover.RemovalError{Alias: "tenant-2025", Fingerprint: fp, Pending: []string{"a", "b"}, Err: rollover.ErrReceiversPending},
			WantText: `rollover: old key tenant-2025 (` + fp.String() + `) cannot be removed yet: receivers "a", "b" have not confirmed the switch`,
			WantIs:   []error{wssec.ErrRetentionNotElapsed, rollover.ErrReceiversPending},
		},
		{
			Name:     "in use",
			Err:      &rollover.RemovalError{Alias: "tenant-2025", Fingerprint: fp, LastUsed: at, AllowedAt: at.Add(day), Err: rollover.ErrKeyInUse},
			WantText: "rollover: old key tenant-2025 (" + fp.String() + ") cannot be removed yet: it decrypted a message at 2027-04-04T09:00:00Z, within the guaranteed delivery time; allowed from 2027-04-05T09:00:00Z",
			WantIs:   []error{wssec.ErrRetentionNotElapsed, rollover.ErrKeyInUse},
		},
		{
			Name: "holders not ready",
			Err: &rollover.HoldersError{Fingerprint: fp, Live: 1, MinHolders: 2,
				Laggards: []rollover.Laggard{{ID: "app-1", Host: "h1", PID: 7, Generation: 4, Reason: "has not loaded the key"}}},
			WantText: `rollover: holders have not loaded the new key ` + fp.String() + `: "app-1" (host "h1", pid 7, generation 4) has not loaded the key; 1 live holders, the policy requires at least 2`,
			WantIs:   []error{rollover.ErrHoldersNotReady},
			NotIs:    []error{rollover.ErrSelfTestFailed},
		},
		{
			Name:     "holders do not trust",
			Err:      &rollover.HoldersError{Fingerprint: fp, Signer: "bank", Live: 1, Laggards: []rollover.Laggard{{ID: "app-1", Host: "h1", PID: 7, Generation: 4, Reason: "does not trust the certificate yet"}}},
			WantText: `rollover: holders do not trust partner "bank"'s new signing certificate ` + fp.String() + `: "app-1" (host "h1", pid 7, generation 4) does not trust the certificate yet`,
			WantIs:   []error{rollover.ErrHoldersNotReady},
		},
		{
			Name:     "self-test",
			Err:      &rollover.SelfTestError{Fingerprint: fp, Identifier: "ThumbprintSHA1", Reason: "the key ring cannot decrypt the sample", Cause: wssec.ErrNoMatchingKey},
			WantText: "rollover: self-test of key " + fp.String() + " with ThumbprintSHA1 failed: the key ring cannot decrypt the sample: wssec: no matching key",
			WantIs:   []error{rollover.ErrSelfTestFailed, wssec.ErrNoMatchingKey},
		},
		{
			Name:     "receiver's algorithm",
			Err:      &rollover.SelfTestError{Fingerprint: fp, Receiver: "partner-b", Err: rollover.ErrReceiverAlgorithm, Cause: wssec.ErrInvalidPolicy},
			WantText: `rollover: receiver "partner-b": new key cannot perform ` + string(wssec.RSAOAEP) + `: ` + wssec.ErrInvalidPolicy.Error(),
			WantIs:   []error{rollover.ErrReceiverAlgorithm, wssec.ErrInvalidPolicy},
			NotIs:    []error{rollover.ErrSelfTestFailed},
		},
		{
			Name:     "clock behind",
			Err:      &rollover.StageError{Op: "ConfirmReceiverSwitched", Now: at, Latest: at.Add(day), Err: rollover.ErrClockBehind},
			WantText: "rollover: ConfirmReceiverSwitched refused: the clock shows 2027-04-04T09:00:00Z, before the latest recorded time 2027-04-05T09:00:00Z; correct the clock",
			WantIs:   []error{rollover.ErrClockBehind},
			NotIs:    []error{rollover.ErrStaleStage},
		},
		{
			Name:     "corrupt state",
			Err:      &rollover.StateError{Name: "rollover-decryption", Reason: "unsupported version 9 (want 1)", Err: rollover.ErrCorruptState},
			WantText: "rollover: corrupt state: rollover-decryption: unsupported version 9 (want 1)",
			WantIs:   []error{rollover.ErrCorruptState},
			NotIs:    []error{rollover.ErrInconsistent},
		},
	})
}

// TestState_corrupt checks that state the package cannot use is reported,
// not guessed at.
func TestState_corrupt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		blob    string
		state   string
		wantErr error
	}{
		{"not an object", "rollover-decryption", `[1]`, rollover.ErrCorruptState},
		{"newer version", "rollover-decryption", `{"version": 2, "stage": "idle"}`, rollover.ErrCorruptState},
		{"unknown stage", "rollover-decryption", `{"version": 1, "stage": "confirmed"}`, rollover.ErrCorruptState},
		{"stage without keys", "rollover-decryption", `{"version": 1, "stage": "key-added"}`, rollover.ErrCorruptState},
		{"bad fingerprint", "rollover-decryption", `{"version": 1, "stage": "key-added", "new": {"alias": "a", "sha256": "xx"}, "old": {"alias": "b", "sha256": "00"}}`, rollover.ErrCorruptState},
		{"switched without expiry", "rollover-decryption", `{"version": 1, "stage": "receivers-switched", "new": {"alias": "a", "sha256": "` + strings.Repeat("00", 32) + `"}, "old": {"alias": "b", "sha256": "` + strings.Repeat("00", 32) + `"}, "receivers": [{"id": "r", "provided": "2027-01-01T00:00:00Z"}]}`, rollover.ErrCorruptState},
		{"negative retention", "rollover-decryption", `{"version": 1, "stage": "idle", "retention": {"guaranteedDelivery": "-1h", "retentionFloor": "2160h"}}`, rollover.ErrCorruptState},
		{"retention not a duration", "rollover-decryption", `{"version": 1, "stage": "idle", "retention": {"guaranteedDelivery": 7, "retentionFloor": "2160h"}}`, rollover.ErrCorruptState},
		{"keys not in the store", "rollover-decryption", `{"version": 1, "stage": "key-added", "new": {"alias": "a", "sha256": "` + strings.Repeat("00", 32) + `"}, "old": {"alias": "b", "sha256": "` + strings.Repeat("00", 32) + `"}}`, rollover.ErrInconsistent},
		{"usage of another version", "rollover-usage", `{"version": 7}`, nil},
		{"audit of another version", "rollover-audit", `{"version": 7}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{})
			err := e.store.Update(ctx, func(tx *keystore.Tx) error { return tx.SetState(tc.blob, []byte(tc.state)) })
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.m.Resume(ctx)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Resume() error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				// Usage and audit blobs are read by steps and History.
				_, err := rollover.History(e.store)
				_, err2 := e.m.RecordUsage(ctx)
				e.receive(testpki.Old, "")
				_, err3 := e.m.RecordUsage(ctx)
				if !errors.Is(errors.Join(err, err2, err3), rollover.ErrCorruptState) {
					t.Errorf("History(), RecordUsage() errors = %v, %v, %v, want ErrCorruptState", err, err2, err3)
				}
			}
		})
	}
}

// TestResume_inconsistent checks that keys changed outside the procedure
// stop it instead of being overwritten.
func TestResume_inconsistent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	idle := as[*rollover.Idle](t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
	// An operator rotates by hand.
	if err := e.store.Update(ctx, func(tx *keystore.Tx) error { return tx.Rotate("tenant-2027") }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Resume(ctx); !errors.Is(err, rollover.ErrInconsistent) {
		t.Errorf("Resume() error = %v, want ErrInconsistent", err)
	}
	if _, err := created.AddToKeyStore(ctx); !errors.Is(err, rollover.ErrInconsistent) {
		t.Errorf("AddToKeyStore() error = %v, want ErrInconsistent", err)
	}
}

// TestNil checks that zero and nil values give errors, not panics.
func TestNil(t *testing.T) {
	t.Parallel()
	var (
		idle     *rollover.Idle
		created  *rollover.KeyPairCreated
		added    *rollover.KeyAdded
		provided *rollover.CertificateProvided
		switched *rollover.ReceiversSwitched
		m        *rollover.Manager
	)
	errs := []error{
		second(idle.CreateKeyPair(ctx, rollover.KeyRequest{})),
		second(created.AddToKeyStore(ctx)),
		second(created.AdoptCertificate(ctx, nil, nil)),
		second(created.CertificateRequest()),
		second(created.Cancel(ctx, "")),
		second(added.ProvideCertificate(ctx, rollover.Handoff{})),
		second(added.Cancel(ctx, "")),
		second(provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{})),
		second(provided.WithdrawConfirmation(ctx, "a", "")),
		second(provided.Bundle()),
		second(switched.RemoveOldKey(ctx)),
		second(switched.WithdrawConfirmation(ctx, "a", "")),
		second(switched.Bundle()),
		second(m.Resume(ctx)),
		second(m.Begin(ctx)),
		second(m.RecordUsage(ctx)),
		second(rollover.History(nil)),
		second((&rollover.Idle{}).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "a", Credential: fixture(testpki.New)})),
	}
	for i, err := range errs {
		if !errors.Is(err, rollover.ErrInvalidArgument) {
			t.Errorf("call %d: error = %v, want ErrInvalidArgument", i, err)
		}
	}
	m.Observe("a", nil)
	if idle.Report().Stage != "" || switched.Report().Renewal != 0 || !switched.Report().OldKeyExpires.IsZero() || provided.Report().Pending != nil {
		t.Error("nil stages report something")
	}
	var b *rollover.Bundle
	if b.PEM() != nil || b.String() != "<nil>" {
		t.Error("nil Bundle")
	}

	// A nil Context is refused by every step.
	e := newEnv(t, rollover.Options{})
	idle = as[*rollover.Idle](t, e.resume())
	if _, err := idle.CreateKeyPair(nil, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("CreateKeyPair(nil Context) error = %v", err)
	}
	if _, err := e.m.Resume(nil); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("Resume(nil Context) error = %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
