package signer_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

// The partners' procedure refuses a clock behind its recorded times, and
// the removal of the old certificate is checked a second time with the
// key store's clock.
func TestSigner_clockAndSecondCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.clock.Advance(5 * day)
	added := e.toCertificateAdded()
	e.clock.Set(t0.Add(day))
	_, err := added.ConfirmPartnerSwitched(ctx, signer.Confirmation{By: "ops@partner.example", Reference: "CHG-2"})
	if !errors.Is(err, rollover.ErrClockBehind) && !errors.Is(err, keystore.ErrClockBehind) {
		t.Fatalf("ConfirmPartnerSwitched() with the clock behind error = %v, want a clock error", err)
	}
	e.clock.Set(t0.Add(5 * day))
	sw := must(added.ConfirmPartnerSwitched(ctx, signer.Confirmation{By: "ops@partner.example", Reference: "CHG-2"}))(t)
	confirmed := e.clock.Now()

	// A Manager whose clock runs far ahead, on a store whose clock does
	// not: the store's clock decides.
	ahead := fakeclock.New(confirmed.Add(200 * day))
	opts := e.opts
	opts.Now = ahead.Now
	m := must(signer.New(e.store, opts))(t)
	stage := asSigner[*signer.Switched](t, must(m.Resume(ctx, sw.Report().Partner))(t))
	_, err = stage.RemoveOldCertificate(ctx)
	var re *rollover.RemovalError
	if !errors.As(err, &re) || !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("RemoveOldCertificate() with only the Manager's clock ahead error = %v, want a *RemovalError", err)
	}
	if want := confirmed.Add(90 * day); !re.AllowedAt.Equal(want) {
		t.Errorf("AllowedAt = %v, want %v", re.AllowedAt, want)
	}
	e.clock.Set(confirmed.Add(90 * day))
	must(stage.RemoveOldCertificate(ctx))(t)
}

// CheckHolders waits for the holders that verify signatures to trust
// the new certificate.
func TestCertificateAdded_CheckHolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.toTrusted()
	// A replica verifies the partner's responses with trust rings of its
	// own Manager, and registers what they trust.
	var rm atomic.Pointer[signer.Manager]
	r := proctest.Follow(t, e.dir, storePassword, e.clock.Now, "replica-a", func(ctx context.Context) []wssec.Fingerprint {
		m := rm.Load()
		if m == nil {
			return nil
		}
		fps, _ := m.SyncTrustRings(ctx)
		return fps
	})
	rm.Store(must(signer.New(e.open(), e.opts))(t))                            // the replica's own Store
	proctest.Follow(t, e.dir, storePassword, e.clock.Now, "decrypt-only", nil) // reports no trust: not waited for
	e.clock.Advance(11 * time.Second)
	r.Poll() // heart-beats, now with what its rings trust
	if hs := must(e.store.Holders(ctx))(t); len(hs) != 2 || !slices.Contains(hs[1].Trusted, fingerprint(testpki.Receiver)) {
		t.Fatalf("Holders() = %+v, want replica-a trusting the current certificate", hs)
	}

	added := must(e.resumeSigner().(*signer.Trusted).AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(t)
	err := added.CheckHolders(ctx)
	var he *rollover.HoldersError
	if !errors.As(err, &he) || he.Signer != partner || len(he.Laggards) != 1 || he.Laggards[0].ID != "replica-a" {
		t.Fatalf("CheckHolders() error = %v, want replica-a lagging", err)
	}
	if he.Fingerprint != fingerprint(testpki.ReceiverNew) {
		t.Errorf("HoldersError.Fingerprint = %s, want the new certificate", he.Fingerprint.String())
	}
	r.Poll()
	if err := added.CheckHolders(ctx); err != nil {
		t.Fatalf("CheckHolders() after the replica synchronized error = %v", err)
	}
	hs := must(e.store.Holders(ctx))(t)
	if len(hs) != 2 || !slices.Contains(hs[1].Trusted, fingerprint(testpki.Receiver)) || !slices.Contains(hs[1].Trusted, fingerprint(testpki.ReceiverNew)) {
		t.Errorf("Holders() = %+v, want replica-a trusting both certificates", hs)
	}
}

// TestErrors checks the text and the unwrapping of the errors the
// partners' steps return.
func TestErrors(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 4, 4, 9, 0, 0, 0, time.UTC)
	fp := fingerprint(testpki.Old)
	proctest.CheckErrors(t, []proctest.ErrorCase{
		{
			Name:     "stale signer stage",
			Err:      &rollover.StageError{Op: "AddCertificate", Partner: "bank", Stage: signer.StageTrusted, Stored: signer.StageCertificateAdded, Renewal: 2, Stale: true, Err: rollover.ErrRenewalInProgress},
			WantText: `rollover: AddCertificate refused for partner "bank": stage trusted is stale, the store holds stage certificate-added of renewal 2; a renewal is in progress`,
			WantIs:   []error{rollover.ErrStaleStage, rollover.ErrRenewalInProgress},
			NotIs:    []error{rollover.ErrCannotCancel},
		},
		{
			Name:     "signer renewal too late to cancel",
			Err:      &rollover.StageError{Op: "Cancel", Partner: "bank", Stage: signer.StageCertificateAdded, Stored: signer.StageSwitched, Renewal: 1, Stale: true, Err: rollover.ErrCannotCancel},
			WantText: `rollover: Cancel refused for partner "bank": stage certificate-added is stale, the store holds stage partner-switched of renewal 1; the partner confirmed the switch, so the renewal can no longer be cancelled`,
			WantIs:   []error{rollover.ErrStaleStage, rollover.ErrCannotCancel},
		},
		{
			Name:     "certificate retention",
			Err:      &rollover.RemovalError{Partner: "bank", Fingerprint: fp, AllowedAt: at},
			WantText: `rollover: certificate ` + fp.String() + ` of partner "bank" cannot be removed yet: the retention period has not elapsed; allowed from 2027-04-04T09:00:00Z`,
			WantIs:   []error{wssec.ErrRetentionNotElapsed},
			NotIs:    []error{signer.ErrCertificateInUse, signer.ErrPartnerNotSwitched, rollover.ErrKeyInUse},
		},
		{
			Name:     "certificate in use",
			Err:      &rollover.RemovalError{Partner: "bank", Fingerprint: fp, LastUsed: at, AllowedAt: at.Add(day), Err: signer.ErrCertificateInUse},
			WantText: `rollover: certificate ` + fp.String() + ` of partner "bank" cannot be removed yet: it verified a signature at 2027-04-04T09:00:00Z, within the guaranteed delivery time; allowed from 2027-04-05T09:00:00Z`,
			WantIs:   []error{wssec.ErrRetentionNotElapsed, signer.ErrCertificateInUse},
		},
		{
			Name:     "partner not switched",
			Err:      &rollover.RemovalError{Partner: "bank", Fingerprint: fp, Err: signer.ErrPartnerNotSwitched},
			WantText: `rollover: certificate ` + fp.String() + ` of partner "bank" cannot be removed yet: the partner has not confirmed that it signs with the new certificate`,
			WantIs:   []error{wssec.ErrRetentionNotElapsed, signer.ErrPartnerNotSwitched},
		},
		{
			Name:     "holders do not trust",
			Err:      &rollover.HoldersError{Fingerprint: fp, Signer: "bank", Live: 1, Laggards: []rollover.Laggard{{ID: "app-1", Host: "h1", PID: 7, Generation: 4, Reason: "does not trust the certificate yet"}}},
			WantText: `rollover: holders do not trust partner "bank"'s new signing certificate ` + fp.String() + `: "app-1" (host "h1", pid 7, generation 4) does not trust the certificate yet`,
			WantIs:   []error{rollover.ErrHoldersNotReady},
		},
	})
}
