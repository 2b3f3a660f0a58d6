package signer_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestSigner_refusals covers every refusal of the partner's renewal: each
// row brings the partner to a stage, tries a step that must not happen,
// and checks the error, the time it names, and that the stage and the
// trust ring are unchanged.
func TestSigner_refusals(t *testing.T) {
	t.Parallel()
	type outcome struct {
		err       error
		wantErrs  []error
		allowedAt time.Time // zero: the error names no time
		stage     rollover.StageName
		trusted   []string // fixtures the trust ring holds afterwards
	}
	both := []string{testpki.Receiver, testpki.ReceiverNew}
	for _, tc := range []struct {
		name string
		opts rollover.Options
		run  func(e *env) outcome
	}{
		{
			name: "removal at 89 days",
			run: func(e *env) outcome {
				s := e.toPartnerSwitched()
				confirmed := e.clock.Now()
				e.clock.Advance(89 * day)
				_, err := s.RemoveOldCertificate(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed}, allowedAt: confirmed.Add(90 * day),
					stage: signer.StageSwitched, trusted: both}
			},
		},
		{
			name: "removal at 119 days with guaranteed delivery of 120 days",
			opts: rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 120 * day}},
			run: func(e *env) outcome {
				s := e.toPartnerSwitched()
				confirmed := e.clock.Now()
				e.clock.Advance(119 * day)
				_, err := s.RemoveOldCertificate(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed}, allowedAt: confirmed.Add(120 * day),
					stage: signer.StageSwitched, trusted: both}
			},
		},
		{
			name: "removal before confirmation",
			run: func(e *env) outcome {
				s := e.toPartnerSwitched()
				// The partner went back to its old key.
				must(s.WithdrawConfirmation(ctx, "partner rolled back"))(e.t)
				e.clock.Advance(400 * day)
				_, err := s.RemoveOldCertificate(ctx)
				// Nor does the trust ring let the old certificate go: it has
				// no expiry.
				ring := must(e.m.TrustRing(partner))(e.t)
				if rerr := ring.Remove(load(testpki.Receiver).Certificate); !errors.Is(rerr, wssec.ErrRetentionNotElapsed) {
					e.t.Errorf("TrustRing.Remove(old) error = %v, want ErrRetentionNotElapsed", rerr)
				}
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed, signer.ErrPartnerNotSwitched},
					stage: signer.StageCertificateAdded, trusted: both}
			},
		},
		{
			name: "removal while the old certificate is still in use",
			opts: rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 30 * day}},
			run: func(e *env) outcome {
				s := e.toPartnerSwitched()
				ring := must(e.m.TrustRing(partner))(e.t)
				e.clock.Advance(85 * day)
				e.verified(ring, testpki.Receiver, testpki.Receiver)
				lastUse := e.clock.Now()
				e.record()
				e.restart()
				s = asSigner[*signer.Switched](e.t, e.resumeSigner())
				e.clock.Advance(10 * day)
				_, err := s.RemoveOldCertificate(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed, signer.ErrCertificateInUse}, allowedAt: lastUse.Add(30 * day),
					stage: signer.StageSwitched, trusted: both}
			},
		},
		{
			name: "removal while in use, evidence not yet written",
			opts: rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 100 * day}},
			run: func(e *env) outcome {
				s := e.toPartnerSwitched()
				ring := must(e.m.TrustRing(partner))(e.t)
				e.clock.Advance(50 * day)
				e.verified(ring, testpki.Receiver, testpki.Receiver)
				lastUse := e.clock.Now()
				e.clock.Advance(60 * day)
				_, err := s.RemoveOldCertificate(ctx)
				return outcome{err: err, wantErrs: []error{wssec.ErrRetentionNotElapsed, signer.ErrCertificateInUse}, allowedAt: lastUse.Add(100 * day),
					stage: signer.StageSwitched, trusted: both}
			},
		},
		{
			name: "removal while in use, observed only",
			run: func(e *env) outcome {
				s := e.toPartnerSwitched()
				// The application verifies with a ring of its own and
				// reports the signers.
				own := must(wssec.NewTrustRing(load(testpki.ReceiverNew).Certificate, wssec.RingOptions{Now: e.clock.Now}))(e.t)
				if err := own.Retain(load(testpki.Receiver).Certificate, time.Time{}); err != nil {
					e.t.Fatal(err)
				}
				e.clock.Advance(80 * day)
				e.m.Observe(partner, e.verified(own, testpki.Receiver, testpki.Receiver))
				lastUse := e.clock.Now()
				e.clock.Advance(15 * day)
				_, err := s.RemoveOldCertificate(ctx)
				return outcome{err: err, wantErrs: []error{signer.ErrCertificateInUse}, allowedAt: lastUse.Add(90 * day),
					stage: signer.StageSwitched, trusted: both}
			},
		},
		{
			name: "cancel after confirmation",
			run: func(e *env) outcome {
				added := e.toCertificateAdded()
				must(added.ConfirmPartnerSwitched(ctx, signer.Confirmation{}))(e.t)
				_, err := added.Cancel(ctx, "wrong certificate")
				return outcome{err: err, wantErrs: []error{rollover.ErrCannotCancel, rollover.ErrStaleStage},
					stage: signer.StageSwitched, trusted: both}
			},
		},
		{
			name: "cancel while the partner signs with the new certificate",
			run: func(e *env) outcome {
				added := e.toCertificateAdded()
				e.clock.Advance(day)
				e.verified(must(e.m.TrustRing(partner))(e.t), testpki.ReceiverNew, testpki.ReceiverNew)
				used := e.clock.Now()
				e.clock.Advance(day)
				_, err := added.Cancel(ctx, "wrong certificate")
				var re *rollover.RemovalError
				if errors.As(err, &re) && re.Fingerprint != fingerprint(testpki.ReceiverNew) {
					e.t.Errorf("RemovalError.Fingerprint = %s, want the new certificate", re.Fingerprint.String())
				}
				return outcome{err: err, wantErrs: []error{signer.ErrCertificateInUse, wssec.ErrRetentionNotElapsed}, allowedAt: used.Add(90 * day),
					stage: signer.StageCertificateAdded, trusted: both}
			},
		},
		{
			name: "certificate added while a renewal is in progress",
			run: func(e *env) outcome {
				trusted := e.toTrusted()
				must(trusted.AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(e.t)
				_, err := trusted.AddCertificate(ctx, partnerCert(testpki.ReceiverEC))
				return outcome{err: err, wantErrs: []error{rollover.ErrRenewalInProgress, rollover.ErrStaleStage},
					stage: signer.StageCertificateAdded, trusted: both}
			},
		},
		{
			name: "partner trusted twice",
			run: func(e *env) outcome {
				u := asSigner[*signer.Untrusted](e.t, e.resumeSigner())
				must(u.Trust(ctx, partnerCert(testpki.Receiver)))(e.t)
				_, err := u.Trust(ctx, partnerCert(testpki.ReceiverNew))
				return outcome{err: err, wantErrs: []error{rollover.ErrStaleStage},
					stage: signer.StageTrusted, trusted: []string{testpki.Receiver}}
			},
		},
		{
			name: "partner trusted by a stale value while its renewal runs",
			run: func(e *env) outcome {
				u := asSigner[*signer.Untrusted](e.t, e.resumeSigner())
				trusted := must(u.Trust(ctx, partnerCert(testpki.Receiver)))(e.t)
				must(trusted.AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(e.t)
				_, err := u.Trust(ctx, partnerCert(testpki.ReceiverEC))
				return outcome{err: err, wantErrs: []error{rollover.ErrStaleStage, rollover.ErrRenewalInProgress},
					stage: signer.StageCertificateAdded, trusted: both}
			},
		},
		{
			name: "confirmation from evidence without evidence",
			run: func(e *env) outcome {
				added := e.toCertificateAdded()
				// A response signed with the old key is no evidence.
				e.verified(must(e.m.TrustRing(partner))(e.t), testpki.Receiver, testpki.Receiver)
				e.record()
				_, err := added.ConfirmPartnerSwitched(ctx, signer.Confirmation{FromEvidence: true})
				return outcome{err: err, wantErrs: []error{signer.ErrNoEvidence},
					stage: signer.StageCertificateAdded, trusted: both}
			},
		},
		{
			name: "the trusted certificate announced again",
			run: func(e *env) outcome {
				_, err := e.toTrusted().AddCertificate(ctx, partnerCert(testpki.Receiver))
				return outcome{err: err, wantErrs: []error{signer.ErrInvalidCertificate},
					stage: signer.StageTrusted, trusted: []string{testpki.Receiver}}
			},
		},
		{
			name: "a key on P-224",
			run: func(e *env) outcome {
				c := signer.Certificate{Certificate: selfSigned(e.t, elliptic.P224(), t0.Add(-day), t0.Add(400*day))}
				_, err := e.toTrusted().AddCertificate(ctx, c)
				return outcome{err: err, wantErrs: []error{signer.ErrInvalidCertificate, wssec.ErrInvalidKey},
					stage: signer.StageTrusted, trusted: []string{testpki.Receiver}}
			},
		},
		{
			name: "an expired certificate",
			run: func(e *env) outcome {
				c := signer.Certificate{Certificate: selfSigned(e.t, elliptic.P256(), t0.Add(-400*day), t0.Add(-day))}
				_, err := e.toTrusted().AddCertificate(ctx, c)
				return outcome{err: err, wantErrs: []error{signer.ErrInvalidCertificate},
					stage: signer.StageTrusted, trusted: []string{testpki.Receiver}}
			},
		},
		{
			name: "a certificate outside its chain",
			run: func(e *env) outcome {
				c := partnerCert(testpki.ReceiverNew)
				c.Chain = []*x509.Certificate{load(testpki.Stranger).Certificate}
				_, err := e.toTrusted().AddCertificate(ctx, c)
				return outcome{err: err, wantErrs: []error{signer.ErrInvalidCertificate},
					stage: signer.StageTrusted, trusted: []string{testpki.Receiver}}
			},
		},
		{
			name: "no certificate",
			run: func(e *env) outcome {
				_, err := e.toTrusted().AddCertificate(ctx, signer.Certificate{})
				return outcome{err: err, wantErrs: []error{rollover.ErrInvalidArgument},
					stage: signer.StageTrusted, trusted: []string{testpki.Receiver}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts)
			got := tc.run(e)
			proctest.WantRefusal(t, got.err, got.wantErrs, got.allowedAt)
			e.restart()
			if s := e.resumeSigner(); s.Report().Stage != got.stage {
				t.Errorf("stage afterwards = %s, want %s", s.Report().Stage, got.stage)
			}
			var trusted []string
			ring := must(e.m.TrustRing(partner))(t)
			for _, name := range []string{testpki.Receiver, testpki.ReceiverNew} {
				if _, err := e.verify(ring, name); err == nil {
					trusted = append(trusted, name)
				}
			}
			if diff := cmp.Diff(got.trusted, trusted); diff != "" {
				t.Errorf("trusted afterwards (-want +got):\n%s", diff)
			}
			for _, r := range must(rollover.History(e.store))(t) {
				if r.Action == signer.ActionRemoveOldCertificate || r.Action == signer.ActionCancelCertificate {
					t.Errorf("a refused step was recorded: %+v", r)
				}
			}
		})
	}
}

// Partner IDs and nil values are refused without a panic.
func TestSigner_invalidArguments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	for _, id := range []string{"", "bank\n", string(make([]byte, 200))} {
		if _, err := e.m.Resume(ctx, id); !errors.Is(err, rollover.ErrInvalidArgument) {
			t.Errorf("Resume(%q) error = %v, want ErrInvalidArgument", id, err)
		}
		if _, err := e.m.TrustRing(id); !errors.Is(err, rollover.ErrInvalidArgument) {
			t.Errorf("TrustRing(%q) error = %v, want ErrInvalidArgument", id, err)
		}
		e.m.Observe(id, &wssec.Result{})
	}
	var m *signer.Manager
	if _, err := m.TrustRing(partner); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("nil Manager TrustRing() error = %v", err)
	}
	if _, err := m.SyncTrustRings(ctx); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("nil Manager SyncTrustRings() error = %v", err)
	}
	m.Observe(partner, nil)
	var s *signer.Trusted
	if _, err := s.AddCertificate(ctx, partnerCert(testpki.ReceiverNew)); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("nil stage AddCertificate() error = %v", err)
	}
	if r := s.Report(); r.Stage != "" {
		t.Errorf("nil stage Report() = %+v", r)
	}
	var sw signer.Switched
	if _, err := sw.RemoveOldCertificate(ctx); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("zero stage RemoveOldCertificate() error = %v", err)
	}
	long := signer.Confirmation{Note: string(make([]byte, 2000))}
	if _, err := e.toCertificateAdded().ConfirmPartnerSwitched(ctx, long); !errors.Is(err, rollover.ErrInvalidArgument) {
		t.Errorf("ConfirmPartnerSwitched(long note) error = %v", err)
	}
}

// TestSigner_corruptState checks that state the package cannot use is
// reported, never used.
func TestSigner_corruptState(t *testing.T) {
	t.Parallel()
	der := `"` + b64(load(testpki.Receiver).Certificate.Raw) + `"`
	fp := `"` + fpHexOf(testpki.Receiver) + `"`
	for _, tc := range []struct{ name, state string }{
		{"not an object", `[1]`},
		{"newer version", `{"version": 2}`},
		{"unknown stage", `{"version": 1, "partners": {"bank": {"seq": 1, "stage": "confirmed", "current": {"sha256": ` + fp + `, "der": ` + der + `}}}}`},
		{"no current certificate", `{"version": 1, "partners": {"bank": {"seq": 1, "stage": "trusted"}}}`},
		{"certificate not DER", `{"version": 1, "partners": {"bank": {"seq": 1, "stage": "trusted", "current": {"sha256": ` + fp + `, "der": "AAAA"}}}}`},
		{"fingerprint of another certificate", `{"version": 1, "partners": {"bank": {"seq": 1, "stage": "trusted", "current": {"sha256": "` + fpHexOf(testpki.Stranger) + `", "der": ` + der + `}}}}`},
		{"renewal without the old certificate", `{"version": 1, "partners": {"bank": {"seq": 2, "stage": "certificate-added", "current": {"sha256": ` + fp + `, "der": ` + der + `}}}}`},
		{"switched without expiry", `{"version": 1, "partners": {"bank": {"seq": 2, "stage": "partner-switched", "current": {"sha256": ` + fp + `, "der": ` + der + `}, "old": {"sha256": ` + fp + `, "der": ` + der + `}}}}`},
		{"invalid partner ID", `{"version": 1, "partners": {"": {"seq": 1, "stage": "trusted", "current": {"sha256": ` + fp + `, "der": ` + der + `}}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{})
			err := e.store.Update(ctx, func(tx *keystore.Tx) error { return tx.SetState("rollover-signers", []byte(tc.state)) })
			if err != nil {
				t.Fatal(err)
			}
			e.restart()
			_, err1 := e.m.Resume(ctx, partner)
			_, err2 := e.m.TrustRing(partner)
			_, err3 := e.m.Partners()
			for i, err := range []error{err1, err2, err3} {
				var se *rollover.StateError
				if !errors.Is(err, rollover.ErrCorruptState) || !errors.As(err, &se) || se.Name != "rollover-signers" {
					t.Errorf("call %d error = %v, want ErrCorruptState of rollover-signers", i, err)
				}
			}
		})
	}
}
