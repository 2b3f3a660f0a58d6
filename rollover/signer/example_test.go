package signer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

// exampleStore creates a key store in a temporary directory, where the
// partners' renewals keep their state, and returns a function that opens
// it, as each run of the program does, and one that removes it.
func exampleStore(clock func() time.Time) (open func() *keystore.Store, cleanup func()) {
	tmp, err := os.MkdirTemp("", "signer-example-")
	if err != nil {
		log.Fatal(err)
	}
	dir := keystore.Dir(filepath.Join(tmp, "keys"))
	password, opts := keystore.PasswordValue("example-store-password"), keystore.Options{Now: clock}
	if _, err := keystore.Create(context.Background(), dir, password, opts); err != nil {
		log.Fatal(err)
	}
	return func() *keystore.Store {
		s, err := keystore.Open(context.Background(), dir, password, opts)
		if err != nil {
			log.Fatal(err)
		}
		return s
	}, func() { os.RemoveAll(tmp) }
}

// readCert reads testdata/NAME.pem, the certificate as the partner's
// administrator sends it.
func readCert(name string) *x509.Certificate {
	data, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
	if err != nil {
		log.Fatal(err)
	}
	certs, err := keystore.ParseCertificates(data)
	if err != nil || len(certs) != 1 {
		log.Fatalf("%s.pem: %d certificates, %v", name, len(certs), err)
	}
	return certs[0]
}

// A partner renews the key that signs its responses: its new certificate
// is trusted before it switches, and the old one is removed 90 days after
// it confirmed the switch. The Manager keeps the trust ring of the
// Decryptor in step with every step.
func ExampleTrusted_AddCertificate() {
	ctx := context.Background()
	// The partner signed the sample responses at 07:45 UTC that day; a
	// real program uses time.Now.
	now := time.Date(2026, 11, 26, 7, 46, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	open, cleanup := exampleStore(clock)
	defer cleanup()
	store := open()
	opts := rollover.Options{Now: clock, Actor: "ops-alice", Logger: slog.New(slog.DiscardHandler)}
	m, err := signer.New(store, opts)
	if err != nil {
		log.Fatal(err)
	}

	// The partner's current certificate, trusted once.
	stage, err := m.Resume(ctx, "bank")
	if err != nil {
		log.Fatal(err)
	}
	trusted, err := stage.(*signer.Untrusted).Trust(ctx, signer.Certificate{Certificate: readCert("partner"), Reference: "CHG-1"})
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
	added, err := trusted.AddCertificate(ctx, signer.Certificate{Certificate: readCert("partner-new"), By: "pki@bank.example", Reference: "CHG-2"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(added.Report().Stage, "-", verify("signed-by-partner.xml"), "-", verify("signed-by-partner-new.xml"))

	// Step 2: the partner signs with the new key and says so.
	now = now.Add(time.Minute)
	switched, err := added.ConfirmPartnerSwitched(ctx, signer.Confirmation{By: "ops@bank.example", Reference: "CHG-2"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(switched.Report().Stage, "- old certificate trusted until", switched.Report().OldCertificateExpires.Format(time.DateOnly))

	// Step 3, 89 days later, in another run of the program: refused.
	now = now.AddDate(0, 0, 89)
	m, err = signer.New(open(), opts)
	if err != nil {
		log.Fatal(err)
	}
	stage, err = m.Resume(ctx, "bank")
	if err != nil {
		log.Fatal(err)
	}
	_, err = stage.(*signer.Switched).RemoveOldCertificate(ctx)
	var re *rollover.RemovalError
	if errors.As(err, &re) {
		fmt.Println("day 89:", errors.Is(err, wssec.ErrRetentionNotElapsed), "- allowed from", re.AllowedAt.Format(time.DateOnly))
	}

	// A day later it is allowed.
	now = now.AddDate(0, 0, 1)
	trusted, err = stage.(*signer.Switched).RemoveOldCertificate(ctx)
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
func ExampleManager_Observe() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 7, 46, 0, 0, time.UTC) // when the samples were signed
	clock := func() time.Time { return now }
	open, cleanup := exampleStore(clock)
	defer cleanup()
	store := open()
	m, err := signer.New(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	stage, err := m.Resume(ctx, "bank")
	if err != nil {
		log.Fatal(err)
	}
	trusted, err := stage.(*signer.Untrusted).Trust(ctx, signer.Certificate{Certificate: readCert("partner")})
	if err != nil {
		log.Fatal(err)
	}
	added, err := trusted.AddCertificate(ctx, signer.Certificate{Certificate: readCert("partner-new")})
	if err != nil {
		log.Fatal(err)
	}
	_, err = added.ConfirmPartnerSwitched(ctx, signer.Confirmation{FromEvidence: true})
	fmt.Println("before:", errors.Is(err, signer.ErrNoEvidence))

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
	m.Observe("bank", res)

	now = now.Add(time.Minute)
	switched, err := added.ConfirmPartnerSwitched(ctx, signer.Confirmation{FromEvidence: true, Note: "no word from the partner"})
	if err != nil {
		log.Fatal(err)
	}
	r := switched.Report()
	fmt.Println("after:", r.Stage, r.FromEvidence, r.FirstNewSignature.Format(time.TimeOnly), r.OldCertificateExpires.Format(time.DateOnly))
	// Output:
	// before: true
	// after: partner-switched true 07:46:00 2027-02-24
}
