package rollover_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// readKey reads a fixture key pair: a PEM private key and its
// certificate.
func readKey(name string) *keystore.Credential {
	data, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := keystore.ParsePEM(data, nil, "")
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// readCert reads a fixture certificate.
func readCert(name string) *x509.Certificate {
	data, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		log.Fatal("no PEM block in ", name)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// exampleStore creates a key store in a new temporary directory whose
// current key is the fixture "old", and returns it with a function that
// opens it again, as a later process does, and one that removes it.
func exampleStore(clock func() time.Time) (*keystore.Store, func() *keystore.Store, func()) {
	tmp, err := os.MkdirTemp("", "rollover-example-")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	dir := keystore.Dir(filepath.Join(tmp, "keys"))
	password := keystore.PasswordValue("example-store-password")
	store, err := keystore.Create(ctx, dir, password, keystore.Options{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", readKey("old"), nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		log.Fatal(err)
	}
	reopen := func() *keystore.Store {
		s, err := keystore.Open(ctx, dir, password, keystore.Options{Now: clock})
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	return store, reopen, func() { os.RemoveAll(tmp) }
}

// The whole renewal, from the first step to the removal of the old key
// 97 days later, with a restart in between as it happens in practice.
func Example() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC) // a clock the example controls
	clock := func() time.Time { return now }
	store, reopen, cleanup := exampleStore(clock)
	defer cleanup()
	opts := rollover.Options{
		Policy: rollover.Policy{GuaranteedDelivery: 14 * 24 * time.Hour},
		Now:    clock,
		Actor:  "ops-alice",
		Logger: slog.New(slog.DiscardHandler), // the audit trail also goes to the log
	}

	m, err := rollover.NewManager(store, opts)
	if err != nil {
		log.Fatal(err)
	}
	idle, err := m.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("0:", idle.Report().Stage)

	// Step 1: the new key pair, here one a CA issued.
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: readKey("new")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("1:", created.Report().Stage)

	// Step 2: both keys decrypt from now on.
	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("2:", added.Report().Stage)

	// Step 3: self-test, then the bundle for the receiver's administrator.
	provided, err := added.ProvideCertificate(ctx, rollover.Handoff{
		Receivers: []rollover.Receiver{{ID: "partner", Description: "order service of Example Partner"}},
		Note:      "bundle sent by mail",
	})
	if err != nil {
		log.Fatal(err)
	}
	bundle, err := provided.Bundle()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("3:", provided.Report().Stage, bundle.Alias)
	fmt.Println("   SHA-256:", wssec.FingerprintOf(bundle.Certificate))
	fmt.Println("   X509IssuerSerial:", bundle.Identifiers.IssuerName, bundle.Identifiers.SerialNumber)

	// A week later, another run of the program: the receiver confirms
	// (steps 4 to 6 happened on its side).
	now = now.AddDate(0, 0, 7)
	store = reopen()
	m, err = rollover.NewManager(store, opts)
	if err != nil {
		log.Fatal(err)
	}
	stage, err := m.Resume(ctx)
	if err != nil {
		log.Fatal(err)
	}
	next, err := stage.(*rollover.CertificateProvided).ConfirmReceiverSwitched(ctx, rollover.Confirmation{
		Receiver: "partner", By: "bob@partner.example", Reference: "CHG-1234",
	})
	if err != nil {
		log.Fatal(err)
	}
	switched := next.(*rollover.ReceiversSwitched)
	fmt.Println("6:", switched.Report().Stage, "- old key kept until", switched.Report().OldKeyExpires.Format(time.DateOnly))

	// Step 7, 89 days after the confirmation: refused.
	now = now.AddDate(0, 0, 89)
	_, err = switched.RemoveOldKey(ctx)
	var re *rollover.RemovalError
	if errors.As(err, &re) {
		fmt.Println("7:", errors.Is(err, wssec.ErrRetentionNotElapsed), "- allowed from", re.AllowedAt.Format(time.DateOnly))
	}

	// A day later: done.
	now = now.AddDate(0, 0, 1)
	idle, err = switched.RemoveOldKey(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("7:", idle.Report().Stage, idle.Report().Outcome)
	for _, e := range store.View().Entries() {
		fmt.Println("  ", e.Alias, e.Status, e.Fingerprint.String())
	}

	history, err := rollover.History(store)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range history {
		fmt.Println("  ", strings.Join(slices.DeleteFunc([]string{r.Time.Format(time.DateOnly), string(r.Action), r.Receiver, r.Reference}, func(s string) bool { return s == "" }), " "))
	}
	// Output:
	// 0: idle
	// 1: key-pair-created
	// 2: key-added
	// 3: certificate-provided tenant-2027
	//    SHA-256: 3F:90:6F:4C:22:5A:D0:76:78:CA:57:21:00:82:AE:B2:F7:44:B7:A8:F2:46:76:65:86:A3:11:83:3B:DB:80:A2
	//    X509IssuerSerial: CN=wsrenew Test CA,O=wsrenew test,C=DE 8193
	// 6: receivers-switched - old key kept until 2027-04-11
	// 7: true - allowed from 2027-04-11
	// 7: idle completed
	//    tenant-2025 disabled EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF
	//    tenant-2027 current 3F:90:6F:4C:22:5A:D0:76:78:CA:57:21:00:82:AE:B2:F7:44:B7:A8:F2:46:76:65:86:A3:11:83:3B:DB:80:A2
	//    2027-01-04 import-key-pair
	//    2027-01-04 add-to-key-store
	//    2027-01-04 self-test
	//    2027-01-04 provide-certificate partner
	//    2027-01-11 confirm-receiver-switched partner CHG-1234
	//    2027-01-11 set-old-key-expiry
	//    2027-04-11 disable-old-key
}

// A program that runs the procedure over months resumes where it stands
// and switches on the stage's type.
func ExampleManager_Resume() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, _, cleanup := exampleStore(clock)
	defer cleanup()
	m, err := rollover.NewManager(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	stage, err := m.Resume(ctx)
	if err != nil {
		log.Fatal(err)
	}
	switch s := stage.(type) {
	case *rollover.Idle:
		r := s.Report()
		fmt.Println("no renewal in progress; current key", r.Current.Alias, "expires in", r.DaysLeft, "days; due:", r.RenewalDue)
	case *rollover.CertificateProvided:
		fmt.Println("waiting for", s.Report().Pending)
	case *rollover.ReceiversSwitched:
		fmt.Println("old key may be removed from", s.Report().RemovableAt)
	default:
		fmt.Println("in step", s.Report().Stage)
	}
	// Output:
	// no renewal in progress; current key tenant-2025 expires in 7260 days; due: false
}

// The application reports which key decrypted each response; the
// evidence says when receivers switched and whether the old key is still
// used.
func ExampleManager_RecordUsage() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, _, cleanup := exampleStore(clock)
	defer cleanup()
	m, err := rollover.NewManager(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	idle, err := m.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: readKey("new")})
	if err != nil {
		log.Fatal(err)
	}
	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		log.Fatal(err)
	}
	provided, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: "partner"}}})
	if err != nil {
		log.Fatal(err)
	}

	// The application's decryptor, on the store's key ring.
	ring, err := store.KeyRing()
	if err != nil {
		log.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring}
	plain, err := os.ReadFile("testdata/response.xml")
	if err != nil {
		log.Fatal(err)
	}

	// Two days later the receiver's first response for the new key comes.
	now = now.AddDate(0, 0, 2)
	msg, err := (&wssec.Encryptor{Certificate: readKey("new").Certificate}).Encrypt(plain)
	if err != nil {
		log.Fatal(err)
	}
	res, err := dec.Decrypt(msg)
	if err != nil {
		log.Fatal(err)
	}
	m.Observe("partner", res) // the application knows whom it called
	wrote, err := m.RecordUsage(ctx)
	if err != nil {
		log.Fatal(err)
	}
	r := provided.Report()
	fmt.Println(wrote, r.Receivers[0].FirstNewKeyUse.Format(time.DateOnly))
	// Output:
	// true 2027-01-06
}

// The retention floor of 90 days can be raised, never lowered.
func ExamplePolicy() {
	for _, p := range []rollover.Policy{
		{},
		{GuaranteedDelivery: 120 * 24 * time.Hour},
		{RetentionFloor: 30 * 24 * time.Hour},
	} {
		if err := p.Validate(); err != nil {
			fmt.Println(errors.Is(err, rollover.ErrInvalidPolicy), err)
			continue
		}
		fmt.Println("retention", p.Retention())
	}
	// Output:
	// retention 2160h0m0s
	// retention 2880h0m0s
	// true rollover: invalid policy: RetentionFloor 720h0m0s is below the 90-day floor
}

// Exporting the new certificate before step 3 counts as handing it out:
// the renewal can no longer be cancelled and goes on with step 3.
func ExampleManager_ExportCertificate() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store, _, cleanup := exampleStore(clock)
	defer cleanup()
	m, err := rollover.NewManager(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	idle, err := m.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: readKey("new")})
	if err != nil {
		log.Fatal(err)
	}
	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		log.Fatal(err)
	}
	now = now.Add(time.Hour)
	cert, err := m.ExportCertificate(ctx, "tenant-2027", "mailed to the partner early")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exported:", cert.Subject, wssec.FingerprintOf(cert))
	_, err = added.Cancel(ctx, "changed my mind")
	var se *rollover.StageError
	fmt.Println("cancel refused:", errors.As(err, &se), errors.Is(err, rollover.ErrCannotCancel))
	fmt.Println(se.Reason)
	// Output:
	// exported: CN=tenant.example,OU=Integration,O=Example Tenant,C=DE 3F:90:6F:4C:22:5A:D0:76:78:CA:57:21:00:82:AE:B2:F7:44:B7:A8:F2:46:76:65:86:A3:11:83:3B:DB:80:A2
	// cancel refused: true true
	// the new key tenant-2027 (3F:90:6F:4C:22:5A:D0:76:78:CA:57:21:00:82:AE:B2:F7:44:B7:A8:F2:46:76:65:86:A3:11:83:3B:DB:80:A2) may be in use: its certificate was handed out at 2027-01-04T10:00:00Z; a receiver may encrypt to it, so continue with step 3 instead
}

// A monitoring job reads the report's reminder: when the renewal is due,
// the next step and from when it is allowed, and a health verdict with a
// one-line reason (what keyadmin check prints).
func ExampleReport_health() {
	ctx := context.Background()
	now := time.Date(2046, 10, 2, 9, 0, 0, 0, time.UTC) // 50 days before the certificate expires
	clock := func() time.Time { return now }
	store, _, cleanup := exampleStore(clock)
	defer cleanup()
	m, err := rollover.NewManager(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	stage, err := m.Resume(ctx)
	if err != nil {
		log.Fatal(err)
	}
	r := stage.Report()
	fmt.Println("due from:", r.RenewalDueAt.Format(time.DateOnly))
	fmt.Println("next step:", r.Next.Step, r.Next.Name, "allowed now:", r.Next.AllowedNow)
	fmt.Println(r.Health, "-", r.HealthReason)
	// Output:
	// due from: 2046-09-22
	// next step: 1 create allowed now: true
	// warning - renewal due since 2046-09-22 06:57 UTC: certificate of tenant-2025 expires at 2046-11-21 06:57 UTC (49 days left)
}

// switchedExample runs steps 1 to 6 of a renewal from "old" to "new" with
// the receiver "partner" confirming at once, on a new store with a
// Manager of opts, and returns the stage, the Manager, the store and a
// function that removes the store.
func switchedExample(ctx context.Context, opts rollover.Options) (*rollover.ReceiversSwitched, *rollover.Manager, *keystore.Store, func()) {
	store, _, cleanup := exampleStore(opts.Now)
	m, err := rollover.NewManager(store, opts)
	if err != nil {
		log.Fatal(err)
	}
	idle, err := m.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: readKey("new")})
	if err != nil {
		log.Fatal(err)
	}
	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		log.Fatal(err)
	}
	provided, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: "partner"}}})
	if err != nil {
		log.Fatal(err)
	}
	next, err := provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner", By: "bob@partner.example", Reference: "CHG-1234"})
	if err != nil {
		log.Fatal(err)
	}
	return next.(*rollover.ReceiversSwitched), m, store, cleanup
}

// Step 7 with a restore window: RemoveOldKey disables the old key, a
// response still encrypted to it is refused and counted as evidence, and
// once the window has passed the store destroys the key (here on the
// call a Follower's tick makes) and the audit trail records it.
func ExampleReceiversSwitched_RemoveOldKey() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC) // a clock the example controls
	clock := func() time.Time { return now }
	switched, m, store, cleanup := switchedExample(ctx, rollover.Options{
		Policy: rollover.Policy{RestoreWindow: 3 * 24 * time.Hour},
		Now:    clock, Logger: slog.New(slog.DiscardHandler),
	})
	defer cleanup()

	now = now.AddDate(0, 0, 90)
	if _, err := switched.RemoveOldKey(ctx); err != nil {
		log.Fatal(err)
	}
	ring, err := store.KeyRing()
	if err != nil {
		log.Fatal(err)
	}
	response, err := os.ReadFile("testdata/response.xml")
	if err != nil {
		log.Fatal(err)
	}
	toOld, err := (&wssec.Encryptor{Certificate: readKey("old").Certificate}).Encrypt(response)
	if err != nil {
		log.Fatal(err)
	}
	_, err = (&wssec.Decryptor{Keys: ring}).Decrypt(toOld)
	err = m.ObserveRefusal(err)
	fmt.Println("response to the old key refused, key disabled:", errors.Is(err, keystore.ErrKeyDisabled))

	now = now.AddDate(0, 0, 3)
	// The next change to the store destroys it, as a follower's tick does.
	if err := store.Update(ctx, func(*keystore.Tx) error { return nil }); err != nil {
		log.Fatal(err)
	}
	gone, err := store.Destructions()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("destroyed:", gone[0].Alias)
	history, err := rollover.History(store)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range history[len(history)-2:] {
		fmt.Println(r.Time.Format(time.DateOnly), r.Action)
	}
	// Output:
	// response to the old key refused, key disabled: true
	// destroyed: tenant-2025
	// 2027-04-04 disable-old-key
	// 2027-04-07 destroy-key
}

// An operator restores a key that step 7 disabled when responses still
// encrypted to it are refused: a receiver did not switch after all.
func ExampleManager_RestoreKey() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	switched, m, store, cleanup := switchedExample(ctx, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	defer cleanup()
	now = now.AddDate(0, 0, 90)
	if _, err := switched.RemoveOldKey(ctx); err != nil {
		log.Fatal(err)
	}

	if err := m.RestoreKey(ctx, "tenant-2025"); err != nil {
		log.Fatal(err)
	}
	for _, e := range store.View().Entries() {
		fmt.Println(e.Alias, e.Status)
	}
	// Output:
	// tenant-2025 retained
	// tenant-2027 current
}
