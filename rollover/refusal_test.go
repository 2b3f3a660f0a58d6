package rollover_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestRefusals covers every refusal of the procedure: each row brings a
// store to a state, tries a step that must not happen, and checks the
// error, the time it names, and that the store is unchanged.
func TestRefusals(t *testing.T) {
	t.Parallel()
	type outcome struct {
		err       error
		wantErrs  []error
		allowedAt time.Time // zero: the error names no time
		entries   []string  // the store's entries afterwards
	}
	for _, tc := range []struct {
		name string
		opts rollover.Options
		run  func(e *env) outcome
	}{
		{
			name: "import of a credential without its key",
			run: func(e *env) outcome {
				c := fixture(testpki.New)
				c.Key = nil
				_, err := as[*rollover.Idle](e.t, e.resume()).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: c})
				return outcome{err: err, wantErrs: []error{rollover.ErrInvalidArgument}, entries: []string{"tenant-2025:current"}}
			},
		},
		{
			name: "import with a key size",
			run: func(e *env) outcome {
				req := rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New), Bits: 4096}
				_, err := as[*rollover.Idle](e.t, e.resume()).CreateKeyPair(ctx, req)
				return outcome{err: err, wantErrs: []error{rollover.ErrInvalidArgument}, entries: []string{"tenant-2025:current"}}
			},
		},
		{
			name: "removal at 89 days",
			run: func(e *env) outcome {
				s := e.toSwitched("partner-a")
				confirmed := e.clock.Now()
				e.clock.Advance(89 * day)
				_, err := s.RemoveOldKey(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed}, allowedAt: confirmed.Add(90 * day),
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "removal at 119 days with guaranteed delivery of 120 days",
			opts: rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 120 * day}},
			run: func(e *env) outcome {
				s := e.toSwitched("partner-a")
				confirmed := e.clock.Now()
				e.clock.Advance(119 * day)
				_, err := s.RemoveOldKey(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed}, allowedAt: confirmed.Add(120 * day),
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "removal before all receivers confirmed",
			run: func(e *env) outcome {
				s := e.toSwitched("partner-a", "partner-b")
				// partner-b went back to the old certificate.
				must(s.WithdrawConfirmation(ctx, "partner-b", "rolled back their release"))(e.t)
				e.clock.Advance(400 * day)
				_, err := s.RemoveOldKey(ctx)
				var re *rollover.RemovalError
				if errors.As(err, &re) && !cmp.Equal(re.Pending, []string{"partner-b"}) {
					e.t.Errorf("Pending = %v, want [partner-b]", re.Pending)
				}
				// Nor can the store be made to remove it: it has no expiry.
				rawErr := e.store.Update(ctx, func(tx *keystore.Tx) error { return tx.Remove("tenant-2025") })
				if !errors.Is(rawErr, wssec.ErrRetentionNotElapsed) {
					e.t.Errorf("Tx.Remove() error = %v, want ErrRetentionNotElapsed", rawErr)
				}
				as[*rollover.CertificateProvided](e.t, e.resume())
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed, rollover.ErrReceiversPending},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "removal while the old key is still in use",
			opts: rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 30 * day}},
			run: func(e *env) outcome {
				s := e.toSwitched("partner-a")
				// A queued response, encrypted before the switch, arrives
				// on day 80; the evidence survives a restart.
				e.clock.Advance(80 * day)
				e.receive(testpki.Old, "")
				lastUse := e.clock.Now()
				e.record()
				e.restart()
				s = as[*rollover.ReceiversSwitched](e.t, e.resume())
				e.clock.Advance(10 * day)
				_, err := s.RemoveOldKey(ctx)
				if r := s.Report(); !r.RemovableAt.Equal(lastUse.Add(30*day)) || r.OldKeyUsesAfterConfirmation != 1 {
					e.t.Errorf("Report() = RemovableAt %v, %d uses after confirmation", r.RemovableAt, r.OldKeyUsesAfterConfirmation)
				}
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed, rollover.ErrKeyInUse}, allowedAt: lastUse.Add(30 * day),
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "removal while the old key is in use, evidence not yet written",
			opts: rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 100 * day}},
			run: func(e *env) outcome {
				s := e.toSwitched("partner-a")
				e.clock.Advance(50 * day)
				e.receive(testpki.Old, "")
				lastUse := e.clock.Now()
				e.clock.Advance(60 * day)
				_, err := s.RemoveOldKey(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed, rollover.ErrKeyInUse}, allowedAt: lastUse.Add(100 * day),
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "cancel after step 3",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				added := must(created.AddToKeyStore(ctx))(e.t)
				must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(e.t)
				_, err := added.Cancel(ctx, "changed my mind")
				return outcome{err: err, wantErrs: []error{rollover.ErrCannotCancel, rollover.ErrStaleStage},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "cancel after step 3, value from before step 2",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				e.toProvidedFrom(created)
				_, err := created.Cancel(ctx, "changed my mind")
				return outcome{err: err, wantErrs: []error{rollover.ErrCannotCancel, rollover.ErrStaleStage},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "second renewal started while one is in progress",
			run: func(e *env) outcome {
				// Two processes resume the idle stage; the first starts.
				other := e.otherProcess()
				idle := as[*rollover.Idle](e.t, e.resume())
				idle2 := as[*rollover.Idle](e.t, must(other.Resume(ctx))(e.t))
				must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				_, err := idle2.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027b", Credential: fixture(testpki.Stranger)})
				return outcome{err: err, wantErrs: []error{rollover.ErrRenewalInProgress, rollover.ErrStaleStage},
					entries: []string{"tenant-2025:current", "tenant-2027:pending"}}
			},
		},
		{
			name: "second renewal begun while the old key is retained",
			run: func(e *env) outcome {
				e.toSwitched("partner-a")
				expires := e.clock.Now().Add(90 * day)
				e.restart()
				_, err := e.m.Begin(ctx)
				return outcome{err: err, wantErrs: []error{rollover.ErrRenewalInProgress}, allowedAt: expires,
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "step taken twice from the same stage",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				must(created.AddToKeyStore(ctx))(e.t)
				_, err := created.AddToKeyStore(ctx)
				return outcome{err: err, wantErrs: []error{rollover.ErrStaleStage},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "confirmation twice from the same stage",
			run: func(e *env) outcome {
				p := e.toProvided("partner-a", "partner-b")
				c := rollover.Confirmation{Receiver: "partner-a"}
				must(p.ConfirmReceiverSwitched(ctx, c))(e.t)
				_, err := p.ConfirmReceiverSwitched(ctx, c)
				return outcome{err: err, wantErrs: []error{rollover.ErrStaleStage},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "confirmation of a receiver that already confirmed",
			run: func(e *env) outcome {
				p := e.toProvided("partner-a", "partner-b")
				c := rollover.Confirmation{Receiver: "partner-a"}
				p = as[*rollover.CertificateProvided](e.t, must(p.ConfirmReceiverSwitched(ctx, c))(e.t))
				_, err := p.ConfirmReceiverSwitched(ctx, c)
				return outcome{err: err, wantErrs: []error{rollover.ErrAlreadyConfirmed},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "confirmation of an unknown receiver",
			run: func(e *env) outcome {
				p := e.toProvided("partner-a")
				_, err := p.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-z"})
				return outcome{err: err, wantErrs: []error{rollover.ErrUnknownReceiver},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "self-test failure",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				added := must(created.AddToKeyStore(ctx))(e.t)
				_, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a"), Sample: []byte("<not-soap/>")})
				var ste *rollover.SelfTestError
				if errors.As(err, &ste) && ste.Fingerprint != fingerprint(testpki.New) {
					e.t.Errorf("SelfTestError.Fingerprint = %s", ste.Fingerprint.String())
				}
				as[*rollover.KeyAdded](e.t, e.resume())
				return outcome{err: err, wantErrs: []error{rollover.ErrSelfTestFailed, wssec.ErrMalformed},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "self-test with a policy that refuses the key transport",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				added := must(created.AddToKeyStore(ctx))(e.t)
				_, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a"),
					Policy: wssec.Policy{KeyTransports: []wssec.KeyTransport{wssec.RSAOAEPMGF1P}}})
				return outcome{err: err, wantErrs: []error{rollover.ErrSelfTestFailed, wssec.ErrAlgorithmNotAllowed},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "no receivers",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				added := must(created.AddToKeyStore(ctx))(e.t)
				_, err := added.ProvideCertificate(ctx, rollover.Handoff{})
				return outcome{err: err, wantErrs: []error{rollover.ErrInvalidArgument},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "duplicate receiver",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
				added := must(created.AddToKeyStore(ctx))(e.t)
				_, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a", "partner-a")})
				return outcome{err: err, wantErrs: []error{rollover.ErrInvalidArgument},
					entries: []string{"tenant-2025:retained", "tenant-2027:current"}}
			},
		},
		{
			name: "alias in use",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				_, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2025", Credential: fixture(testpki.New)})
				return outcome{err: err, wantErrs: []error{keystore.ErrDuplicateAlias},
					entries: []string{"tenant-2025:current"}}
			},
		},
		{
			name: "the current key imported again",
			run: func(e *env) outcome {
				idle := as[*rollover.Idle](e.t, e.resume())
				_, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.Old)})
				return outcome{err: err, wantErrs: []error{keystore.ErrDuplicateKey},
					entries: []string{"tenant-2025:current"}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts)
			before := must(rollover.History(e.store))(t)
			got := tc.run(e)
			if re := proctest.WantRefusal(t, got.err, got.wantErrs, got.allowedAt); re != nil && re.Fingerprint != fingerprint(testpki.Old) {
				t.Errorf("RemovalError names %s, want the old key", re.Fingerprint.String())
			}
			e.restart()
			if diff := cmp.Diff(got.entries, aliases(e.store)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			// A refused step leaves no audit record.
			after := must(rollover.History(e.store))(t)
			if len(after) < len(before) {
				t.Errorf("history shrank")
			}
			if n := len(after); n > 0 && after[n-1].Action == rollover.ActionRemoveOldKey {
				t.Errorf("a refused removal was recorded")
			}
		})
	}
}

// TestPolicy_Validate checks the policy's range, and that the 90-day
// floor cannot be lowered.
func TestPolicy_Validate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		policy        rollover.Policy
		wantErr       error
		wantRetention time.Duration
	}{
		{name: "zero", wantRetention: 90 * day},
		{name: "short delivery", policy: rollover.Policy{GuaranteedDelivery: 7 * day}, wantRetention: 90 * day},
		{name: "long delivery", policy: rollover.Policy{GuaranteedDelivery: 120 * day}, wantRetention: 120 * day},
		{name: "raised floor", policy: rollover.Policy{RetentionFloor: 180 * day, GuaranteedDelivery: 7 * day}, wantRetention: 180 * day},
		{name: "floor of 90 days", policy: rollover.Policy{RetentionFloor: 90 * day}, wantRetention: 90 * day},
		{name: "floor lowered", policy: rollover.Policy{RetentionFloor: 89 * day}, wantErr: rollover.ErrInvalidPolicy},
		{name: "floor of one second", policy: rollover.Policy{RetentionFloor: time.Second}, wantErr: rollover.ErrInvalidPolicy},
		{name: "negative floor", policy: rollover.Policy{RetentionFloor: -1}, wantErr: rollover.ErrInvalidPolicy},
		{name: "negative delivery", policy: rollover.Policy{GuaranteedDelivery: -day}, wantErr: rollover.ErrInvalidPolicy},
		{name: "negative lead", policy: rollover.Policy{RenewalLead: -day}, wantErr: rollover.ErrInvalidPolicy},
		{name: "negative minimum holders", policy: rollover.Policy{MinHolders: -1}, wantErr: rollover.ErrInvalidPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Validate()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate() error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := tc.policy.Retention(); got != tc.wantRetention {
				t.Errorf("Retention() = %v, want %v", got, tc.wantRetention)
			}
		})
	}
}

// TestNewManager_options checks that invalid options are refused when the
// Manager is built.
func TestNewManager_options(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	for _, tc := range []struct {
		name    string
		opts    rollover.Options
		wantErr error
	}{
		{"zero", rollover.Options{}, nil},
		{"floor lowered", rollover.Options{Policy: rollover.Policy{RetentionFloor: 30 * day}}, rollover.ErrInvalidPolicy},
		{"negative interval", rollover.Options{UsageInterval: -time.Second}, rollover.ErrInvalidPolicy},
		{"long actor", rollover.Options{Actor: string(make([]byte, 2000))}, rollover.ErrInvalidPolicy},
	} {
		if _, err := rollover.NewManager(e.store, tc.opts); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: NewManager() error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	if _, err := rollover.NewManager(nil, rollover.Options{}); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("NewManager(nil) error = %v, want ErrInvalidArgument", err)
	}
}
