package signer_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestSigner_endToEnd walks the partner's renewal of its signing
// certificate on a key store directory, opening the store again and
// resuming before every step, and verifies WSS4J-signed responses of the
// old and the new partner key at each stage through the trust ring the
// Manager keeps.
func TestSigner_endToEnd(t *testing.T) {
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 30 * day}, Actor: "ops-alice"})
	oldFP, newFP := fingerprint(testpki.Receiver), fingerprint(testpki.ReceiverNew)

	// Before: the partner is not known; nothing it signs is trusted.
	asSigner[*signer.Untrusted](t, e.resumeSigner())
	if _, err := e.m.TrustRing(partner); !errors.Is(err, signer.ErrUnknownPartner) {
		t.Fatalf("TrustRing() error = %v, want ErrUnknownPartner", err)
	}

	// Its current certificate is trusted.
	untrusted := asSigner[*signer.Untrusted](t, e.resumeSigner())
	trusted := must(untrusted.Trust(ctx, partnerCert(testpki.Receiver)))(t)
	ring := must(e.m.TrustRing(partner))(t)
	e.verified(ring, testpki.Receiver, testpki.Receiver)
	e.verified(ring, "receiver, encrypted", testpki.Receiver)
	e.untrusted(ring, testpki.ReceiverNew)
	if r := trusted.Report(); r.Current == nil || r.Current.Fingerprint != oldFP || r.New != nil || r.DaysLeft < 365 || r.RenewalDue {
		t.Fatalf("Report() after Trust = %+v", r)
	}

	// Step 1: the partner announces its new certificate.
	e.restart()
	ring = must(e.m.TrustRing(partner))(t)
	trusted = asSigner[*signer.Trusted](t, e.resumeSigner())
	added := must(trusted.AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(t)
	e.verified(ring, testpki.Receiver, testpki.Receiver)
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)
	e.verified(ring, "receiver-new, issuer-serial", testpki.ReceiverNew)
	checkRing(t, ring, map[wssec.Fingerprint]string{newFP: "current", oldFP: "retained until never"})

	// The partner switches: its first response signed with the new key is
	// the evidence, written by RecordUsage and kept across restarts.
	e.clock.Advance(2 * day)
	firstNew := e.clock.Now()
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)
	if !e.record() {
		t.Fatal("RecordUsage() wrote nothing")
	}
	e.restart()
	ring = must(e.m.TrustRing(partner))(t)
	added = asSigner[*signer.CertificateAdded](t, e.resumeSigner())
	if r := added.Report(); !r.FirstNewSignature.Equal(firstNew) || r.New.Fingerprint != newFP || r.Old.Fingerprint != oldFP ||
		!r.New.LastVerified.Equal(firstNew) || r.Renewal != 1 || !r.OldCertificateExpires.IsZero() {
		t.Fatalf("Report() after the first new signature = %+v", r)
	}

	// Step 2: the partner confirms.
	e.clock.Advance(day)
	confirmed := e.clock.Now()
	switched := must(added.ConfirmPartnerSwitched(ctx, signer.Confirmation{By: "ops@partner.example", Reference: "CHG-2"}))(t)
	if got, want := switched.Report().OldCertificateExpires, confirmed.Add(90*day); !got.Equal(want) {
		t.Fatalf("Report().OldCertificateExpires = %v, want %v", got, want)
	}
	// The ring keeps trusting the old certificate until the store drops
	// it at step 3; the retention's end is the stage's to say.
	checkRing(t, ring, map[wssec.Fingerprint]string{newFP: "current", oldFP: "retained until never"})
	e.clock.Advance(time.Hour)
	e.verified(ring, testpki.Receiver, testpki.Receiver) // a queued response still verifies
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)

	// A response the partner queued before its switch arrives on day 80.
	e.clock.Set(confirmed.Add(80 * day))
	lateUse := e.clock.Now()
	e.verified(ring, testpki.Receiver, testpki.Receiver)
	e.record()

	checkSignerStep3(t, e, confirmed, lateUse)
}

// checkSignerStep3 takes step 3 of TestSigner_endToEnd's renewal, whose
// partner confirmed at confirmed and whose old certificate last verified
// a response at lateUse, and checks the ring, the audit trail and the
// state afterwards.
func checkSignerStep3(t *testing.T, e *env, confirmed, lateUse time.Time) {
	t.Helper()
	oldFP, newFP := fingerprint(testpki.Receiver), fingerprint(testpki.ReceiverNew)
	// Step 3, refused at 89 days, and at 91 days while the late response
	// is within the guaranteed delivery time.
	e.restart()
	e.clock.Set(confirmed.Add(89 * day))
	switched := asSigner[*signer.Switched](t, e.resumeSigner())
	_, err := switched.RemoveOldCertificate(ctx)
	var re *rollover.RemovalError
	if !errors.Is(err, wssec.ErrRetentionNotElapsed) || !errors.As(err, &re) || !re.AllowedAt.Equal(lateUse.Add(30*day)) {
		t.Fatalf("RemoveOldCertificate() at 89 days error = %v, want ErrRetentionNotElapsed allowed from %v", err, lateUse.Add(30*day))
	}
	e.clock.Set(confirmed.Add(91 * day))
	_, err = switched.RemoveOldCertificate(ctx)
	if !errors.Is(err, signer.ErrCertificateInUse) || !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("RemoveOldCertificate() at 91 days error = %v, want ErrCertificateInUse", err)
	}
	if r := switched.Report(); !r.RemovableAt.Equal(lateUse.Add(30*day)) || r.OldCertificateUsesAfterConfirmation != 2 || !r.Old.LastVerified.Equal(lateUse) {
		t.Fatalf("Report() = RemovableAt %v, %d old uses, old last verified %v", r.RemovableAt, r.OldCertificateUsesAfterConfirmation, r.Old.LastVerified)
	}

	e.restart()
	ring := must(e.m.TrustRing(partner))(t)
	e.clock.Set(lateUse.Add(30 * day))
	switched = asSigner[*signer.Switched](t, e.resumeSigner())
	trusted := must(switched.RemoveOldCertificate(ctx))(t)
	e.untrusted(ring, testpki.Receiver)
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)
	checkRing(t, ring, map[wssec.Fingerprint]string{newFP: "current"})
	e.restart()
	trusted = asSigner[*signer.Trusted](t, e.resumeSigner())
	if r := trusted.Report(); r.Outcome != "completed" || r.Current.Fingerprint != newFP || r.Old != nil || r.Renewal != 1 {
		t.Fatalf("Report() after step 3 = %+v", r)
	}
	e.untrusted(must(e.m.TrustRing(partner))(t), testpki.Receiver)

	want := []string{
		"trust-partner-certificate bank",
		"add-partner-certificate bank",
		"new-certificate-first-use bank",
		"confirm-partner-switched bank",
		"set-old-certificate-expiry bank",
		"old-certificate-used-after-confirmation bank",
		"remove-old-certificate bank",
	}
	if diff := cmp.Diff(want, partnerActions(e)); diff != "" {
		t.Errorf("History() actions (-want +got):\n%s", diff)
	}
	for _, rec := range must(rollover.History(e.store))(t) {
		if rec.Action != signer.ActionTrustCertificate && (rec.Renewal != 1 || rec.NewKey != newFP || rec.OldKey != oldFP) {
			t.Errorf("record %+v: want renewal 1 and the partner's certificates", rec)
		}
	}

	// The state holds the certificates as DER and nothing secret.
	blob := string(must(e.store.ReadState("rollover-signers"))(t))
	der := base64.StdEncoding.EncodeToString(load(testpki.ReceiverNew).Certificate.Raw)
	if !strings.Contains(blob, der) || strings.Contains(blob, base64.StdEncoding.EncodeToString(load(testpki.Receiver).Certificate.Raw)) {
		t.Errorf("rollover-signers does not hold exactly the new certificate: %.200s", blob)
	}
	if strings.Contains(blob, "PRIVATE") || strings.Contains(e.logs.String(), "PRIVATE") {
		t.Error("state or log hold secrets")
	}
}

// checkRing compares the ring's entries, as "current" or "retained until
// <date>", with want.
func checkRing(t *testing.T, ring *wssec.TrustRing, want map[wssec.Fingerprint]string) {
	t.Helper()
	got := map[wssec.Fingerprint]string{}
	for _, e := range ring.Snapshot() {
		s := "current"
		if e.Status == wssec.StatusRetained {
			s = "retained until never"
			if !e.Expires.IsZero() {
				s = "retained until " + e.Expires.Format("2006-01-02")
			}
		}
		got[e.Fingerprint] = s
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trust ring (-want +got):\n%s", diff)
	}
}

// partnerActions returns the actions of the audit trail that concern a
// partner, with the partner.
func partnerActions(e *env) []string {
	e.t.Helper()
	must(e.store.Reload(ctx))(e.t)
	var out []string
	for _, r := range must(rollover.History(e.store))(e.t) {
		if r.Partner != "" {
			out = append(out, string(r.Action)+" "+r.Partner)
		}
	}
	return out
}

// Cancelling before the partner's confirmation removes the new
// certificate from the ring and the store; the next renewal starts from
// the old one.
func TestCertificateAdded_Cancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	added := e.toCertificateAdded()
	r := must(e.m.TrustRing(partner))(t)
	e.verified(r, testpki.ReceiverNew, testpki.ReceiverNew)
	// That response arrived before the partner switched for good; the
	// guaranteed delivery time later, the certificate may go.
	e.clock.Advance(90 * day)
	trusted := must(added.Cancel(ctx, "the partner sent the certificate of its test system"))(t)
	e.untrusted(r, testpki.ReceiverNew)
	e.verified(r, testpki.Receiver, testpki.Receiver)
	checkRing(t, r, map[wssec.Fingerprint]string{fingerprint(testpki.Receiver): "current"})
	if rep := trusted.Report(); rep.Outcome != "cancelled" || rep.Current.Fingerprint != fingerprint(testpki.Receiver) || rep.New != nil {
		t.Errorf("Report() after Cancel = %+v", rep)
	}
	e.restart()
	trusted = asSigner[*signer.Trusted](t, e.resumeSigner())
	next := must(trusted.AddCertificate(ctx, partnerCert(testpki.ReceiverEC)))(t)
	if next.Report().Renewal != 2 {
		t.Errorf("Renewal() = %d, want 2", next.Report().Renewal)
	}
	r = must(e.m.TrustRing(partner))(t)
	e.verified(r, testpki.ReceiverEC, testpki.ReceiverEC)
	e.untrusted(r, testpki.ReceiverNew)
	want := []string{
		"trust-partner-certificate bank",
		"add-partner-certificate bank",
		"new-certificate-first-use bank",
		"cancel-partner-certificate bank",
		"add-partner-certificate bank",
	}
	if diff := cmp.Diff(want, partnerActions(e)); diff != "" {
		t.Errorf("History() actions (-want +got):\n%s", diff)
	}
}

// A response signed with the new certificate confirms the partner's
// switch when the partner does not; the step writes the evidence not yet
// written first.
func TestCertificateAdded_ConfirmPartnerSwitched_fromEvidence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	added := e.toCertificateAdded()
	e.clock.Advance(day)
	seen := e.clock.Now()
	e.verified(must(e.m.TrustRing(partner))(t), testpki.ReceiverNew, testpki.ReceiverNew)
	e.clock.Advance(time.Hour)
	switched := must(added.ConfirmPartnerSwitched(ctx, signer.Confirmation{FromEvidence: true, Note: "no answer from the partner"}))(t)
	r := switched.Report()
	if !r.FromEvidence || !r.FirstNewSignature.Equal(seen) || !r.Confirmed.Equal(e.clock.Now()) || !r.OldCertificateExpires.Equal(e.clock.Now().Add(90*day)) {
		t.Errorf("Report() = %+v", r)
	}
	h := must(rollover.History(e.store))(t)
	var confirm rollover.Record
	for _, rec := range h {
		if rec.Action == signer.ActionConfirmPartnerSwitched {
			confirm = rec
		}
	}
	if !strings.Contains(confirm.Note, "first response signed with the new certificate") || !strings.Contains(confirm.Note, "no answer from the partner") {
		t.Errorf("confirmation record = %+v", confirm)
	}
}

// Another process's steps reach this process's trust ring with
// SyncTrustRings or Resume; steps for one partner do not make
// another partner's stage values stale.
func TestManager_SyncTrustRings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.toTrusted()
	insurer := must(asSigner[*signer.Untrusted](t, must(e.m.Resume(ctx, "insurer"))(t)).Trust(ctx, partnerCert(testpki.ReceiverEC)))(t)
	app := e.otherProcess()
	ring := must(app.TrustRing(partner))(t)
	e.verified(ring, testpki.Receiver, testpki.Receiver)
	if got := must(app.Partners())(t); !cmp.Equal(got, []string{"bank", "insurer"}) {
		t.Errorf("Partners() = %v", got)
	}

	// The operator adds the new certificate from its own process.
	trusted := asSigner[*signer.Trusted](t, e.resumeSigner())
	must(trusted.AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(t)
	e.untrusted(ring, testpki.ReceiverNew)
	if _, err := app.SyncTrustRings(ctx); err != nil {
		t.Fatalf("SyncTrustRings() error = %v", err)
	}
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)

	// The application's ring counts the partner's new signatures; its
	// evidence lets the operator confirm.
	if !must(app.RecordUsage(ctx))(t) {
		t.Fatal("RecordUsage() wrote nothing")
	}
	switched := must(asSigner[*signer.CertificateAdded](t, e.resumeSigner()).ConfirmPartnerSwitched(ctx, signer.Confirmation{FromEvidence: true}))(t)

	// The other partner's stage value is not stale.
	if _, err := insurer.AddCertificate(ctx, partnerCert(testpki.Receiver)); err != nil {
		t.Errorf("AddCertificate() for another partner error = %v", err)
	}

	e.clock.Advance(90 * day)
	must(switched.RemoveOldCertificate(ctx))(t)
	e.verified(ring, testpki.Receiver, testpki.Receiver) // until the application syncs
	must(app.Resume(ctx, partner))(t)
	e.untrusted(ring, testpki.Receiver)
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)
}

// The retention rules recorded at step 1 hold whichever process confirms
// and removes: the longer of the recorded and the process's own.
func TestSigner_retentionRecorded(t *testing.T) {
	t.Parallel()
	long := rollover.Policy{GuaranteedDelivery: 120 * day}
	for _, tc := range []struct {
		name           string
		start, confirm rollover.Policy
	}{
		{"started with 120 days, confirmed with the zero policy", long, rollover.Policy{}},
		{"started with the zero policy, confirmed with 120 days", rollover.Policy{}, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{Policy: tc.start})
			e.toCertificateAdded()
			h := must(rollover.History(e.store))(t)
			if note := h[len(h)-1].Note; !strings.Contains(note, "retention") {
				t.Errorf("step 1 note = %q, want the retention policy", note)
			}
			confirmer := e.processWith(tc.confirm)
			added := asSigner[*signer.CertificateAdded](t, must(confirmer.Resume(ctx, partner))(t))
			confirmed := e.clock.Now()
			must(added.ConfirmPartnerSwitched(ctx, signer.Confirmation{}))(t)
			tool := e.processWith(rollover.Policy{})
			switched := asSigner[*signer.Switched](t, must(tool.Resume(ctx, partner))(t))
			if r := switched.Report(); r.Retention != 120*day || r.GuaranteedDelivery != 120*day || !r.OldCertificateExpires.Equal(confirmed.Add(120*day)) {
				t.Errorf("Report() = retention %v, delivery %v, expires %v; want 120 days", r.Retention, r.GuaranteedDelivery, r.OldCertificateExpires)
			}
			e.clock.Set(confirmed.Add(100 * day))
			_, err := switched.RemoveOldCertificate(ctx)
			var re *rollover.RemovalError
			if !errors.As(err, &re) || !errors.Is(err, wssec.ErrRetentionNotElapsed) || !re.AllowedAt.Equal(confirmed.Add(120*day)) {
				t.Fatalf("RemoveOldCertificate() at day 100 error = %v, want ErrRetentionNotElapsed until day 120", err)
			}
			e.clock.Set(confirmed.Add(120 * day))
			if _, err := switched.RemoveOldCertificate(ctx); err != nil {
				t.Fatalf("RemoveOldCertificate() at day 120 error = %v", err)
			}
		})
	}
}

// A partner that signs with ECDSA.
func TestSigner_ECDSA(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	u := asSigner[*signer.Untrusted](t, e.resumeSigner())
	trusted := must(u.Trust(ctx, signer.Certificate{Certificate: load(testpki.ReceiverEC).Certificate}))(t)
	e.verified(must(e.m.TrustRing(partner))(t), testpki.ReceiverEC, testpki.ReceiverEC)
	h := must(rollover.History(e.store))(t)
	if note := h[len(h)-1].Note; !strings.HasPrefix(note, "ECDSA-P-256, ") {
		t.Errorf("Trust record note = %q", note)
	}
	if trusted.Report().Current.Chain != nil {
		t.Error("Report() shows a chain that was not given")
	}
}
