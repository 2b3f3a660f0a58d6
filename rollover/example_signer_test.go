package rollover_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// A partner renews the key that signs its responses: its new certificate
// is trusted before it switches, and the old one is removed 90 days after
// it confirmed the switch. The Manager keeps the trust ring of the
// Decryptor in step with every step.
func ExampleSignerTrusted_AddCertificate() {
	ctx := context.Background()
	// The partner signed the sample responses at 07:45 UTC that day; a
	// real program uses time.Now.
	now := time.Date(2026, 11, 26, 7, 46, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, reopen, cleanup := exampleStore(clock)
	defer cleanup()
	opts := rollover.Options{Now: clock, Actor: "ops-alice", Logger: slog.New(slog.DiscardHandler)}
	m, err := rollover.NewManager(store, opts)
	if err != nil {
		log.Fatal(err)
	}

	// The partner's current certificate, trusted once.
	stage, err := m.ResumeSigner(ctx, "bank")
	if err != nil {
		log.Fatal(err)
	}
	trusted, err := stage.(*rollover.SignerUntrusted).Trust(ctx, rollover.PartnerCertificate{Certificate: readCert("partner"), Reference: "CHG-1"})
	if err != nil {
		log.Fatal(err)
	}
	ring, err := m.TrustRing("bank")
	if err != nil {
		log.Fatal(err)
	}
	// The partner signs its responses without encrypting them.
	d := &wssec.Decryptor{Signers: ring, Policy: wssec.Policy{AllowPlaintextBody: true}}
	verify := func(file string) string {
		msg, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			log.Fatal(err)
		}
		res, err := d.Decrypt(msg)
		if errors.Is(err, wssec.ErrUntrustedSigner) {
			return "untrusted"
		}
		if err != nil {
			log.Fatal(err)
		}
		return "signed by " + res.Signers[0].Subject.CommonName
	}
	fmt.Println(trusted.Report().Stage, "-", verify("signed-by-partner.xml"), "-", verify("signed-by-partner-new.xml"))

	// Step 1: the partner announces its new certificate.
	added, err := trusted.AddCertificate(ctx, rollover.PartnerCertificate{Certificate: readCert("partner-new"), By: "pki@bank.example", Reference: "CHG-2"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(added.Report().Stage, "-", verify("signed-by-partner.xml"), "-", verify("signed-by-partner-new.xml"))

	// Step 2: the partner signs with the new key and says so.
	now = now.Add(time.Minute)
	switched, err := added.ConfirmPartnerSwitched(ctx, rollover.PartnerConfirmation{By: "ops@bank.example", Reference: "CHG-2"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(switched.Report().Stage, "- old certificate trusted until", switched.Report().OldCertificateExpires.Format(time.DateOnly))

	// Step 3, 89 days later, in another run of the program: refused.
	now = now.AddDate(0, 0, 89)
	m, err = rollover.NewManager(reopen(), opts)
	if err != nil {
		log.Fatal(err)
	}
	stage, err = m.ResumeSigner(ctx, "bank")
	if err != nil {
		log.Fatal(err)
	}
	_, err = stage.(*rollover.SignerSwitched).RemoveOldCertificate(ctx)
	var re *rollover.RemovalError
	if errors.As(err, &re) {
		fmt.Println("day 89:", errors.Is(err, wssec.ErrRetentionNotElapsed), "- allowed from", re.AllowedAt.Format(time.DateOnly))
	}

	// A day later it is allowed.
	now = now.AddDate(0, 0, 1)
	trusted, err = stage.(*rollover.SignerSwitched).RemoveOldCertificate(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ring, err = m.TrustRing("bank")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("day 90:", trusted.Report().Stage, "-", len(ring.Snapshot()), "certificate, renewal", trusted.Report().Outcome)
	// Output:
	// trusted - signed by partner.example - untrusted
	// certificate-added - signed by partner.example - signed by partner.example
	// partner-switched - old certificate trusted until 2027-02-24
	// day 89: true - allowed from 2027-02-24
	// day 90: trusted - 1 certificate, renewal completed
}

// The partner does not say when it switched to its new key; the first
// response signed with it is the evidence. Here the application verifies
// with a trust ring of its own and reports the signers; with the ring of
// Manager.TrustRing the Manager counts them itself.
func ExampleManager_ObserveSigners() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 7, 46, 0, 0, time.UTC) // when the samples were signed
	clock := func() time.Time { return now }
	store, _, cleanup := exampleStore(clock)
	defer cleanup()
	m, err := rollover.NewManager(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	stage, err := m.ResumeSigner(ctx, "bank")
	if err != nil {
		log.Fatal(err)
	}
	trusted, err := stage.(*rollover.SignerUntrusted).Trust(ctx, rollover.PartnerCertificate{Certificate: readCert("partner")})
	if err != nil {
		log.Fatal(err)
	}
	added, err := trusted.AddCertificate(ctx, rollover.PartnerCertificate{Certificate: readCert("partner-new")})
	if err != nil {
		log.Fatal(err)
	}
	_, err = added.ConfirmPartnerSwitched(ctx, rollover.PartnerConfirmation{FromEvidence: true})
	fmt.Println("before:", errors.Is(err, rollover.ErrNoEvidence))

	// The application's own ring, with both certificates.
	ring, err := wssec.NewTrustRing(readCert("partner-new"), wssec.RingOptions{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	if err := ring.Retain(readCert("partner"), time.Time{}); err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Signers: ring, Policy: wssec.Policy{AllowPlaintextBody: true}}
	msg, err := os.ReadFile(filepath.Join("testdata", "signed-by-partner-new.xml"))
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Decrypt(msg)
	if err != nil {
		log.Fatal(err)
	}
	m.ObserveSigners("bank", res)

	now = now.Add(time.Minute)
	switched, err := added.ConfirmPartnerSwitched(ctx, rollover.PartnerConfirmation{FromEvidence: true, Note: "no word from the partner"})
	if err != nil {
		log.Fatal(err)
	}
	r := switched.Report()
	fmt.Println("after:", r.Stage, r.FromEvidence, r.FirstNewSignature.Format(time.TimeOnly), r.OldCertificateExpires.Format(time.DateOnly))
	// Output:
	// before: true
	// after: partner-switched true 07:46:00 2027-02-24
}
