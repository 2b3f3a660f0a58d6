package rollover_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
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
	asSigner[*rollover.SignerUntrusted](t, e.resumeSigner())
	if _, err := e.m.TrustRing(partner); !errors.Is(err, rollover.ErrUnknownPartner) {
		t.Fatalf("TrustRing() error = %v, want ErrUnknownPartner", err)
	}

	// Its current certificate is trusted.
	untrusted := asSigner[*rollover.SignerUntrusted](t, e.resumeSigner())
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
	trusted = asSigner[*rollover.SignerTrusted](t, e.resumeSigner())
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
	added = asSigner[*rollover.SignerCertificateAdded](t, e.resumeSigner())
	if r := added.Report(); !r.FirstNewSignature.Equal(firstNew) || r.New.Fingerprint != newFP || r.Old.Fingerprint != oldFP ||
		!r.New.LastVerified.Equal(firstNew) || r.Renewal != 1 || !r.OldCertificateExpires.IsZero() {
		t.Fatalf("Report() after the first new signature = %+v", r)
	}

	// Step 2: the partner confirms.
	e.clock.Advance(day)
	confirmed := e.clock.Now()
	switched := must(added.ConfirmPartnerSwitched(ctx, rollover.PartnerConfirmation{By: "ops@partner.example", Reference: "CHG-2"}))(t)
	if got, want := switched.OldCertificateExpires(), confirmed.Add(90*day); !got.Equal(want) {
		t.Fatalf("OldCertificateExpires() = %v, want %v", got, want)
	}
	checkRing(t, ring, map[wssec.Fingerprint]string{newFP: "current", oldFP: "retained until " + confirmed.Add(90*day).Format("2006-01-02")})
	e.clock.Advance(time.Hour)
	e.verified(ring, testpki.Receiver, testpki.Receiver) // a queued response still verifies
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)

	// A response the partner queued before its switch arrives on day 80.
	e.clock.Set(confirmed.Add(80 * day))
	lateUse := e.clock.Now()
	e.verified(ring, testpki.Receiver, testpki.Receiver)
	e.record()

	// Step 3, refused at 89 days, and at 91 days while the late response
	// is within the guaranteed delivery time.
	e.restart()
	e.clock.Set(confirmed.Add(89 * day))
	switched = asSigner[*rollover.SignerSwitched](t, e.resumeSigner())
	_, err := switched.RemoveOldCertificate(ctx)
	var re *rollover.CertificateRemovalError
	if !errors.Is(err, wssec.ErrRetentionNotElapsed) || !errors.As(err, &re) || !re.AllowedAt.Equal(lateUse.Add(30*day)) {
		t.Fatalf("RemoveOldCertificate() at 89 days error = %v, want ErrRetentionNotElapsed allowed from %v", err, lateUse.Add(30*day))
	}
	e.clock.Set(confirmed.Add(91 * day))
	_, err = switched.RemoveOldCertificate(ctx)
	if !errors.Is(err, rollover.ErrCertificateInUse) || !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("RemoveOldCertificate() at 91 days error = %v, want ErrCertificateInUse", err)
	}
	if r := switched.Report(); !r.RemovableAt.Equal(lateUse.Add(30*day)) || r.OldCertificateUsesAfterConfirmation != 2 || !r.Old.LastVerified.Equal(lateUse) {
		t.Fatalf("Report() = RemovableAt %v, %d old uses, old last verified %v", r.RemovableAt, r.OldCertificateUsesAfterConfirmation, r.Old.LastVerified)
	}

	e.restart()
	ring = must(e.m.TrustRing(partner))(t)
	e.clock.Set(lateUse.Add(30 * day))
	switched = asSigner[*rollover.SignerSwitched](t, e.resumeSigner())
	trusted = must(switched.RemoveOldCertificate(ctx))(t)
	e.untrusted(ring, testpki.Receiver)
	e.verified(ring, testpki.ReceiverNew, testpki.ReceiverNew)
	checkRing(t, ring, map[wssec.Fingerprint]string{newFP: "current"})
	e.restart()
	trusted = asSigner[*rollover.SignerTrusted](t, e.resumeSigner())
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
		if rec.Action != rollover.ActionTrustCertificate && (rec.Renewal != 1 || rec.NewKey != newFP || rec.OldKey != oldFP) {
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
