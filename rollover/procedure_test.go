package rollover_test

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestProcedure_endToEnd walks the seven steps on a key store directory,
// opening the store again and resuming before every step, over 95 days of
// a fake clock.
func TestProcedure_endToEnd(t *testing.T) {
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 30 * day}, Actor: "ops-alice"})
	oldFP, newFP := fingerprint(testpki.Old), fingerprint(testpki.New)

	// Before: the old key is current and decrypts.
	idle := as[*rollover.Idle](t, e.resume())
	if r := idle.Report(); r.Current.Fingerprint != oldFP || r.RenewalDue || r.DaysLeft < 365 {
		t.Fatalf("idle Report() = %+v, want the old key, not due", r)
	}
	e.receive(testpki.Old, "")

	// Step 1.
	e.restart()
	idle = as[*rollover.Idle](t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
	if diff := cmp.Diff([]string{"tenant-2025:current", "tenant-2027:pending"}, aliases(e.store)); diff != "" {
		t.Fatalf("entries after step 1 (-want +got):\n%s", diff)
	}

	// Step 2.
	e.restart()
	created = as[*rollover.KeyPairCreated](t, e.resume())
	if r := created.Report(); r.New.Fingerprint != newFP || r.Old.Fingerprint != oldFP || r.Renewal != 1 {
		t.Fatalf("Report() = %+v, want new and old fixture keys of renewal 1", r)
	}
	added := must(created.AddToKeyStore(ctx))(t)
	if diff := cmp.Diff([]string{"tenant-2025:retained", "tenant-2027:current"}, aliases(e.store)); diff != "" {
		t.Fatalf("entries after step 2 (-want +got):\n%s", diff)
	}
	e.receive(testpki.Old, "")
	e.receive(testpki.New, "")

	// Step 3.
	e.restart()
	added = as[*rollover.KeyAdded](t, e.resume())
	provided := must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a", "partner-b"), Note: "sent by mail"}))(t)
	b := must(provided.Bundle())(t)
	checkBundle(t, b)
	if got := provided.Report().Pending; !cmp.Equal(got, []string{"partner-a", "partner-b"}) {
		t.Fatalf("Report().Pending = %v", got)
	}

	// Receivers switch; partner-a's responses are attributed.
	e.clock.Advance(2 * day)
	e.restart()
	e.receive(testpki.New, "partner-a")
	e.receive(testpki.Old, "partner-b")
	if !e.record() {
		t.Fatal("RecordUsage() wrote nothing")
	}
	e.restart()
	provided = as[*rollover.CertificateProvided](t, e.resume())
	r := provided.Report()
	if !r.FirstNewKeyUse.Equal(e.clock.Now()) || !r.Receivers[0].FirstNewKeyUse.Equal(e.clock.Now()) || !r.Receivers[1].FirstNewKeyUse.IsZero() {
		t.Fatalf("Report() first uses = %v, %+v", r.FirstNewKeyUse, r.Receivers)
	}
	if !r.Old.LastUsed.Equal(e.clock.Now()) || !r.OldKeyExpires.IsZero() {
		t.Fatalf("Report() old key = %+v, expires %v", r.Old, r.OldKeyExpires)
	}

	// Steps 4 to 6, receiver by receiver.
	next := must(provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "bob@partner-a", Reference: "PA-17"}))(t)
	as[*rollover.CertificateProvided](t, next)
	e.clock.Advance(3 * day)
	e.restart()
	provided = as[*rollover.CertificateProvided](t, e.resume())
	confirmedAt := e.clock.Now()
	switched := as[*rollover.ReceiversSwitched](t, must(provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-b", By: "carol@partner-b", Reference: "PB-4"}))(t))
	wantExpiry := confirmedAt.Add(90 * day) // max(30 days, 90 days)
	if got := switched.Report().OldKeyExpires; !got.Equal(wantExpiry) {
		t.Fatalf("Report().OldKeyExpires = %v, want %v", got, wantExpiry)
	}
	if old := must(e.store.Entry("tenant-2025"))(t); !old.Expires.Equal(wantExpiry) {
		t.Fatalf("store expiry = %v, want %v", old.Expires, wantExpiry)
	}

	// Step 7: refused on day 89, done on day 90.
	e.clock.Advance(89 * day)
	e.restart()
	switched = as[*rollover.ReceiversSwitched](t, e.resume())
	_, err := switched.RemoveOldKey(ctx)
	var re *rollover.RemovalError
	if !errors.Is(err, wssec.ErrRetentionNotElapsed) || !errors.As(err, &re) || !re.AllowedAt.Equal(wantExpiry) {
		t.Fatalf("RemoveOldKey() on day 89 error = %v, want ErrRetentionNotElapsed allowed at %v", err, wantExpiry)
	}
	e.clock.Advance(day)
	e.restart()
	switched = as[*rollover.ReceiversSwitched](t, e.resume())
	idle = must(switched.RemoveOldKey(ctx))(t)
	if diff := cmp.Diff([]string{"tenant-2025:disabled", "tenant-2027:current"}, aliases(e.store)); diff != "" {
		t.Fatalf("entries after step 7 (-want +got):\n%s", diff)
	}

	checkCompleted(t, e, confirmedAt)
}

// checkCompleted checks the store, the audit trail and the log after the
// seven steps of TestProcedure_endToEnd, the last receiver having
// confirmed at confirmedAt.
func checkCompleted(t *testing.T, e *env, confirmedAt time.Time) {
	t.Helper()
	oldFP, newFP := fingerprint(testpki.Old), fingerprint(testpki.New)
	// Afterwards: idle again, only the new key decrypts.
	e.restart()
	idle := as[*rollover.Idle](t, e.resume())
	if r := idle.Report(); r.Outcome != "completed" || r.Renewal != 1 || r.Current.Fingerprint != newFP {
		t.Fatalf("Report() after step 7 = %+v", r)
	}
	e.receive(testpki.New, "")
	if _, err := e.decrypt(encryptTo(t, load(testpki.Old).Certificate)); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Fatalf("Decrypt(old) after removal error = %v, want ErrNoMatchingKey", err)
	}

	want := []string{
		"import-key-pair",
		"add-to-key-store",
		"self-test",
		"provide-certificate partner-a",
		"provide-certificate partner-b",
		"new-key-first-use partner-a",
		"confirm-receiver-switched partner-a",
		"confirm-receiver-switched partner-b",
		"set-old-key-expiry",
		"disable-old-key",
	}
	if diff := cmp.Diff(want, e.actions()); diff != "" {
		t.Errorf("History() actions (-want +got):\n%s", diff)
	}
	h := must(rollover.History(e.store))(t)
	for _, rec := range h {
		if rec.Renewal != 1 || rec.NewKey != newFP || rec.OldKey != oldFP || rec.Actor != "ops-alice" && rec.Actor != "" {
			t.Errorf("record %+v: want renewal 1, the fixture keys and the actor", rec)
		}
	}
	if c := h[7]; c.By != "carol@partner-b" || c.Reference != "PB-4" || !c.Time.Equal(confirmedAt) {
		t.Errorf("confirmation record = %+v", c)
	}
	if got := len(e.logs.Lines("rollover: ")); got < len(want) {
		t.Errorf("logged %d rollover records, want at least %d", got, len(want))
	}

	// The persisted state and the log hold no secrets.
	for _, name := range []string{"rollover-decryption", "rollover-usage", "rollover-audit"} {
		blob := string(must(e.store.ReadState(name))(t))
		if strings.Contains(blob, testPassword) || strings.Contains(blob, "PRIVATE") {
			t.Errorf("state %s holds secrets", name)
		}
	}
	if strings.Contains(e.logs.String(), testPassword) || strings.Contains(e.logs.String(), "PRIVATE") {
		t.Error("the log holds secrets")
	}
}

// checkBundle compares a hand-off bundle of the fixture "new" with values
// computed independently of the package.
func checkBundle(t *testing.T, b *rollover.Bundle) {
	t.Helper()
	cert := load(testpki.New).Certificate
	tp := sha1.Sum(cert.Raw)
	want := rollover.Identifiers{
		IssuerName:           "CN=wsrenew Test CA,O=wsrenew test,C=DE",
		SerialNumber:         "8193",
		SubjectKeyIdentifier: base64.StdEncoding.EncodeToString(cert.SubjectKeyId),
		ThumbprintSHA1:       base64.StdEncoding.EncodeToString(tp[:]),
	}
	if diff := cmp.Diff(want, b.Identifiers); diff != "" {
		t.Errorf("Identifiers (-want +got):\n%s", diff)
	}
	if !b.Certificate.Equal(cert) || b.Alias != "tenant-2027" {
		t.Errorf("Bundle() certificate = %s of %q, want the new certificate", wssec.FingerprintOf(b.Certificate), b.Alias)
	}
	block, _ := pem.Decode(b.PEM())
	if block == nil || string(block.Bytes) != string(cert.Raw) {
		t.Errorf("PEM() does not hold the new certificate")
	}
	if diff := cmp.Diff(receivers("partner-a", "partner-b"), b.Receivers); diff != "" {
		t.Errorf("Receivers (-want +got):\n%s", diff)
	}
	text := b.String()
	for _, s := range []string{want.IssuerName, want.ThumbprintSHA1, "partner-b (orders service of partner-b)", "SHA-256:              " + fingerprint(testpki.New).String()} {
		if !strings.Contains(text, s) {
			t.Errorf("String() lacks %q:\n%s", s, text)
		}
	}
}

// A key pair generated by step 1 keeps the current subject, and a CA's
// certificate replaces its self-signed one before step 2.
func TestIdle_CreateKeyPair(t *testing.T) {
	e := newEnv(t, rollover.Options{})
	idle := as[*rollover.Idle](t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Bits: 2048, Validity: 400 * day}))(t)
	entry := must(e.store.Entry("tenant-2027"))(t)
	old := load(testpki.Old).Certificate
	if entry.Status != keystore.StatusPending || entry.Certificate.Subject.String() != old.Subject.String() {
		t.Fatalf("entry = %v, subject %s", entry, entry.Certificate.Subject)
	}
	if want := e.clock.Now().Add(400 * day); !entry.Certificate.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", entry.Certificate.NotAfter, want)
	}

	// The CA signs the request; the signed certificate is adopted.
	csrPEM := must(created.CertificateRequest())(t)
	signed := signRequest(t, csrPEM)
	ca := load(testpki.CA).Certificate
	created = must(created.AdoptCertificate(ctx, signed, []*x509.Certificate{ca}))(t)
	if r := created.Report(); r.New.Fingerprint != wssec.FingerprintOf(signed) {
		t.Fatalf("Report().New = %+v, want the CA-signed certificate", r.New)
	}
	_, err := created.AdoptCertificate(ctx, load(testpki.Stranger).Certificate, nil)
	if !errors.Is(err, keystore.ErrKeyMismatch) {
		t.Errorf("AdoptCertificate(stranger) error = %v, want keystore.ErrKeyMismatch", err)
	}
	e.restart()
	created = as[*rollover.KeyPairCreated](t, e.resume())
	added := must(created.AddToKeyStore(ctx))(t)
	provided := must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(t)
	b := must(provided.Bundle())(t)
	if len(b.Chain) != 1 || !b.Chain[0].Equal(ca) || b.Identifiers.IssuerName != ca.Subject.String() {
		t.Errorf("Bundle() chain of %d, issuer %s; want the CA", len(b.Chain), b.Identifiers.IssuerName)
	}
	if got := strings.Count(string(b.PEM()), "BEGIN CERTIFICATE"); got != 2 {
		t.Errorf("PEM() holds %d certificates, want 2", got)
	}
	want := []string{"create-key-pair", "adopt-certificate", "add-to-key-store", "self-test", "provide-certificate partner-a"}
	if diff := cmp.Diff(want, e.actions()); diff != "" {
		t.Errorf("History() actions (-want +got):\n%s", diff)
	}
}

// Cancelling before step 3 removes the new key and leaves the store as it
// was; a new renewal can start.
func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel func(*env, *rollover.KeyPairCreated) (*rollover.Idle, error)
	}{
		{"after step 1", func(e *env, c *rollover.KeyPairCreated) (*rollover.Idle, error) {
			return c.Cancel(ctx, "wrong subject")
		}},
		{"after step 2", func(e *env, c *rollover.KeyPairCreated) (*rollover.Idle, error) {
			must(c.AddToKeyStore(ctx))(e.t)
			e.receive(testpki.New, "") // only the self-test could do this; harmless
			e.restart()
			return as[*rollover.KeyAdded](e.t, e.resume()).Cancel(ctx, "wrong subject")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{})
			idle := as[*rollover.Idle](t, e.resume())
			created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
			idle = must(tc.cancel(e, created))(t)
			if diff := cmp.Diff([]string{"tenant-2025:current"}, aliases(e.store)); diff != "" {
				t.Fatalf("entries after Cancel (-want +got):\n%s", diff)
			}
			ring := must(e.store.KeyRing())(t)
			if len(ring.Snapshot()) != 1 {
				t.Errorf("ring holds %d keys, want 1", len(ring.Snapshot()))
			}
			e.receive(testpki.Old, "")
			if r := idle.Report(); r.Outcome != "cancelled" || r.New != nil {
				t.Errorf("Report() = %+v, want a cancelled renewal", r)
			}
			h := must(rollover.History(e.store))(t)
			if last := h[len(h)-1]; last.Action != rollover.ActionCancel || last.Note != "wrong subject" || last.NewKey != fingerprint(testpki.New) {
				t.Errorf("last record = %+v", last)
			}
			// The next renewal starts from the restored store.
			e.restart()
			created = must(as[*rollover.Idle](t, e.resume()).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
			if created.Report().Renewal != 2 {
				t.Errorf("Renewal() = %d, want 2", created.Report().Renewal)
			}
		})
	}
}
