package keystore_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// exampleNow is the fixed clock of the examples, so that their output does
// not depend on the day they run.
func exampleNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// tempStoreDir returns a directory for a store and a function that removes
// it again.
func tempStoreDir() (string, func()) {
	dir, err := os.MkdirTemp("", "keystore-example-")
	if err != nil {
		log.Fatal(err)
	}
	return filepath.Join(dir, "keys"), func() { os.RemoveAll(dir) }
}

// importBundle reads the PEM key, certificate and CA that openssl pkcs12
// -nodes printed for the fixture "old".
func importBundle() *keystore.Credential {
	bundle, err := os.ReadFile("testdata/old-bundle.pem")
	if err != nil {
		log.Fatal(err)
	}
	c, err := keystore.ParsePEM(bundle, nil, "")
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// A new store: import an existing key and make it the current one.
func ExampleCreate() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()

	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add("tenant-2025", importBundle(), map[string]string{"source": "openssl"}); err != nil {
			return err
		}
		return tx.Rotate("tenant-2025")
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range store.View().Entries() {
		fmt.Println(e.Alias, e.Status, e.Certificate.Subject.CommonName, len(e.Chain), e.Created.Format(time.DateOnly))
	}
	// Output:
	// tenant-2025 current tenant.example 1 2026-03-01
}

// Open a store at startup, with the password from a file, and decrypt with
// its key ring.
func ExampleOpen() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	pwFile := filepath.Join(filepath.Dir(dir), "password")
	if err := os.WriteFile(pwFile, []byte("example-store-password\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	password := keystore.PasswordFile(pwFile)
	created, err := keystore.Create(ctx, keystore.Dir(dir), password, keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := created.Update(ctx, func(tx *keystore.Tx) error { return tx.Add("tenant-2025", importBundle(), nil) }); err != nil {
		log.Fatal(err)
	}
	if err := created.Update(ctx, func(tx *keystore.Tx) error { return tx.Rotate("tenant-2025") }); err != nil {
		log.Fatal(err)
	}

	// At startup:
	store, err := keystore.Open(ctx, keystore.Dir(dir), password, keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ring, err := store.KeyRing()
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ring.Snapshot() {
		fmt.Println(e.Name, e.Status, e.Fingerprint.String())
	}
	fmt.Println(strings.Contains(fmt.Sprint(password), "example-store-password"))

	_, err = keystore.Open(ctx, keystore.Dir(dir), keystore.PasswordValue("guess"), keystore.Options{})
	fmt.Println(errors.Is(err, keystore.ErrWrongPassword))
	// Output:
	// tenant-2025 current EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF
	// false
	// true
}

// Generate the next key, ask a CA to sign it, and make it the current key
// once the signed certificate is back.
func ExampleGenerate() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}

	subject := pkix.Name{CommonName: "tenant.example", Organization: []string{"Example Tenant"}}
	key, err := keystore.Generate(subject, keystore.GenerateOptions{Bits: 2048, Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Update(ctx, func(tx *keystore.Tx) error { return tx.Add("tenant-2026", key, nil) }); err != nil {
		log.Fatal(err)
	}
	e, err := store.View().Entry("tenant-2026")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Alias, e.Status, e.Certificate.PublicKey.(*rsa.PublicKey).N.BitLen(), e.Certificate.NotAfter.Format(time.DateOnly))

	csr, err := store.CertificateRequest("tenant-2026")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(string(csr), "\n", 2)[0])

	// A pending key's certificate is not handed out.
	_, err = store.ExportCertificate("tenant-2026")
	fmt.Println(errors.Is(err, keystore.ErrStatus))
	// Output:
	// tenant-2026 pending 2048 2028-02-29
	// -----BEGIN CERTIFICATE REQUEST-----
	// true
}

// Export the current certificate for a partner's administrator.
func ExampleStore_ExportCertificate() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		log.Fatal(err)
	}

	cert, err := store.ExportCertificate("tenant-2025")
	if err != nil {
		log.Fatal(err)
	}
	// The forms an administrator asks for derive from the certificate.
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	fmt.Println(cert.Subject)
	fmt.Println("not after:", cert.NotAfter.Format(time.DateOnly))
	fmt.Println("SHA-256:", wssec.FingerprintOf(cert))
	fmt.Println(strings.SplitN(string(pemBytes), "\n", 2)[0], len(cert.Raw))
	// Output:
	// CN=tenant.example,OU=Integration,O=Example Tenant,C=DE
	// not after: 2046-11-21
	// SHA-256: EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF
	// -----BEGIN CERTIFICATE----- 883
}

// A renewal as the store sees it: the new key joins the ring and becomes
// current, the old one stays until its retention has passed.
func ExampleStore_Update() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	now := exampleNow()
	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		log.Fatal(err)
	}
	ring, err := store.KeyRing() // the decryptor holds this ring
	if err != nil {
		log.Fatal(err)
	}

	p12, err := os.ReadFile("testdata/keytool.p12")
	if err != nil {
		log.Fatal(err)
	}
	next, err := keystore.ParsePKCS12(p12, "p12-test-password")
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add("tenant-2026", next, nil); err != nil {
			return err
		}
		if err := tx.Rotate("tenant-2026"); err != nil {
			return err
		}
		// Every receiver has confirmed the switch: keep the old key for
		// the retention period, then let it go.
		return tx.Retain("tenant-2025", now.AddDate(0, 0, 90))
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ring.Snapshot() {
		fmt.Println(e.Name, e.Status, e.Expires.Format(time.DateOnly))
	}

	err = store.Update(ctx, func(tx *keystore.Tx) error { return tx.Remove("tenant-2025") })
	fmt.Println(errors.Is(err, wssec.ErrRetentionNotElapsed))

	now = now.AddDate(0, 0, 90)
	err = store.Update(ctx, func(tx *keystore.Tx) error { return tx.Remove("tenant-2025") })
	fmt.Println(err, len(ring.Snapshot()))
	// Output:
	// tenant-2026 current 0001-01-01
	// tenant-2025 retained 2026-05-30
	// true
	// <nil> 1
}

// Callers keep their own state beside the keys, written atomically with
// them.
func ExampleTx_SetState() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add("tenant-2025", importBundle(), nil); err != nil {
			return err
		}
		return tx.SetState("rollover", []byte(`{"stage": "added", "alias": "tenant-2025"}`))
	})
	if err != nil {
		log.Fatal(err)
	}
	state, err := store.View().State("rollover")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(state))
	_, err = store.View().State("audit")
	fmt.Println(errors.Is(err, keystore.ErrStateNotFound))
	// Output:
	// {"stage":"added","alias":"tenant-2025"}
	// true
}

// Another process changed the store; Reload brings this one, and its key
// ring, up to date.
func ExampleStore_Reload() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	password := keystore.PasswordValue("example-store-password")
	store, err := keystore.Create(ctx, keystore.Dir(dir), password, keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	operator, err := keystore.Open(ctx, keystore.Dir(dir), password, keystore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	err = operator.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		log.Fatal(err)
	}

	changed, err := store.Reload(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := store.KeyRing()
	fmt.Println(changed, len(ring.Snapshot()), err)
	// Output:
	// true 1 <nil>
}

func ExampleParsePKCS12() {
	data, err := os.ReadFile("testdata/keytool.p12") // written by keytool
	if err != nil {
		log.Fatal(err)
	}
	c, err := keystore.ParsePKCS12(data, "p12-test-password")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c)
	fmt.Println(c.Chain[0].Subject.CommonName)

	_, err = keystore.ParsePKCS12(data, "guess")
	fmt.Println(errors.Is(err, keystore.ErrWrongPassword))
	// Output:
	// keystore.Credential(CN=tenant.example,OU=Integration,O=Example Tenant,C=DE, 3F:90:6F:4C:22:5A:D0:76:78:CA:57:21:00:82:AE:B2:F7:44:B7:A8:F2:46:76:65:86:A3:11:83:3B:DB:80:A2)
	// wsrenew Test CA
	// true
}

func ExampleParsePEM() {
	key, err := os.ReadFile("testdata/old-pkcs8-aes256.pem") // openssl pkcs8 -topk8
	if err != nil {
		log.Fatal(err)
	}
	chain, err := os.ReadFile("testdata/old-chain.pem") // certificate and CA
	if err != nil {
		log.Fatal(err)
	}
	certs, err := keystore.ParseCertificates(chain)
	fmt.Println(len(certs), err)

	_, err = keystore.ParsePEM(key, chain, "")
	fmt.Println(errors.Is(err, keystore.ErrEncryptedKey))
	c, err := keystore.ParsePEM(key, chain, "pem-test-password")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Certificate.Subject.CommonName, len(c.Chain))
	// Output:
	// 2 <nil>
	// true
	// tenant.example 1
}

// The store keeps a key that was handed to a receiver, whatever its
// caller asks: the expiry cannot be shortened and the key cannot be
// removed before its retention ends. A key never handed out can be
// removed at once, even the current one.
func ExampleTx_Remove() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	next, err := keystore.Generate(pkix.Name{CommonName: "tenant.example"}, keystore.GenerateOptions{Bits: 2048, Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"), // receivers use it
			tx.Add("tenant-2027", next, nil), tx.Rotate("tenant-2027")) // not handed out yet
	})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error { return tx.Retain("tenant-2025", exampleNow()) })
	fmt.Println("expire the old key now:", errors.Is(err, keystore.ErrRetentionFloor))
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Remove("tenant-2025"), tx.Rotate("tenant-2027"))
	})
	fmt.Println("remove the old key:", errors.Is(err, wssec.ErrRetentionNotElapsed))
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Remove("tenant-2027"), tx.Rotate("tenant-2025"))
	})
	fmt.Println("remove the new key:", err)
	for _, e := range store.View().Entries() {
		fmt.Println(e.Alias, e.Status, e.Provided.Format(time.DateOnly))
	}
	// Output:
	// expire the old key now: true
	// remove the old key: true
	// remove the new key: <nil>
	// tenant-2025 current 2026-03-01
}

// A store whose manifest was lost is rebuilt from the key files left.
func ExampleRebuild() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	pw := keystore.PasswordValue("example-store-password")
	store, err := keystore.Create(ctx, keystore.Dir(dir), pw, keystore.Options{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		log.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "manifest.json"))

	_, err = keystore.Open(ctx, keystore.Dir(dir), pw, keystore.Options{Now: exampleNow})
	fmt.Println("open:", errors.Is(err, keystore.ErrNotExist))
	left, err := keystore.FindSurvivors(ctx, keystore.Dir(dir), pw)
	if err != nil {
		log.Fatal(err)
	}
	for _, sv := range left {
		fmt.Println("left:", sv.Alias, sv.Err == nil)
	}
	store, err = keystore.Rebuild(ctx, keystore.Dir(dir), pw, keystore.Options{Now: exampleNow}, keystore.RebuildOptions{Current: "tenant-2025"})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range store.View().Entries() {
		fmt.Println(e.Alias, e.Status)
	}
	// Output:
	// open: true
	// left: tenant-2025 true
	// tenant-2025 current
}

// A running application follows the store: a key committed by another
// process (the operator's tool) decrypts without a restart, and the
// process is listed as a holder of the store's keys.
func ExampleFollow() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	pw := keystore.PasswordValue("example-store-password")
	operator, err := keystore.Create(ctx, keystore.Dir(dir), pw, keystore.Options{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	if err := operator.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"))
	}); err != nil {
		log.Fatal(err)
	}

	reloaded := make(chan uint64, 1)
	f, err := keystore.Follow(ctx, keystore.Dir(dir), pw, keystore.FollowOptions{
		Store:    keystore.Options{Now: exampleNow},
		HolderID: "orders-client-1",
		OnReload: func(gen uint64) { reloaded <- gen },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	dec := &wssec.Decryptor{Keys: f.KeyRing()}

	// The operator adds a new key (step 2 of a renewal).
	newKey, err := keystore.Generate(pkix.Name{CommonName: "tenant.example"}, keystore.GenerateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if err := operator.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2027", newKey, nil), tx.Rotate("tenant-2027"))
	}); err != nil {
		log.Fatal(err)
	}
	for gen := range reloaded {
		if gen == operator.View().Generation() {
			break
		}
	}
	msg, err := (&wssec.Encryptor{Certificate: newKey.Certificate}).Encrypt([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Ping xmlns:p="urn:example"/></soap:Body></soap:Envelope>`))
	if err != nil {
		log.Fatal(err)
	}
	_, err = dec.Decrypt(msg)
	fmt.Println("new key decrypts:", err == nil)

	holders, err := operator.Holders(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range holders {
		fmt.Println("holder:", h.ID, "generation", h.Generation, "holds the new key:", slices.Contains(h.Keys, wssec.FingerprintOf(newKey.Certificate)))
	}
	// Output:
	// new key decrypts: true
	// holder: orders-client-1 generation 3 holds the new key: true
}

// renewedStore returns a store in which "tenant-2025" (the fixture "old")
// was replaced by a generated "tenant-2027", with the old key's retention
// over at the time now returns. advance moves that clock on.
func renewedStore(ctx context.Context, dir string) (s *keystore.Store, advance func(time.Duration)) {
	now := exampleNow()
	clock := func() time.Time { return now }
	s, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue("example-store-password"), keystore.Options{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	newKey, err := keystore.Generate(pkix.Name{CommonName: "tenant.example"}, keystore.GenerateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", importBundle(), nil), tx.Rotate("tenant-2025"),
			tx.Add("tenant-2027", newKey, nil), tx.Rotate("tenant-2027"),
			tx.Retain("tenant-2025", now.Add(keystore.MinRetention)))
	}); err != nil {
		log.Fatal(err)
	}
	now = now.Add(keystore.MinRetention)
	return s, func(d time.Duration) { now = now.Add(d) }
}

// Removing the old key softly: Disable takes it out of the key ring for a
// restore window. A message still encrypted to it is refused, and
// CheckRefusal recognises the refusal as evidence that the removal was
// early; Restore puts the key back.
func ExampleTx_Disable() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	s, _ := renewedStore(ctx, dir)
	if err := s.Update(ctx, func(tx *keystore.Tx) error {
		return tx.Disable("tenant-2025", keystore.DefaultRestoreWindow)
	}); err != nil {
		log.Fatal(err)
	}
	ring, err := s.KeyRing()
	if err != nil {
		log.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring}
	toOld, err := (&wssec.Encryptor{Certificate: importBundle().Certificate}).Encrypt([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Ping xmlns:p="urn:example"/></soap:Body></soap:Envelope>`))
	if err != nil {
		log.Fatal(err)
	}

	_, err = dec.Decrypt(toOld)
	err = s.CheckRefusal(err, nil) // an application passes its logger
	var de *keystore.EntryError
	if errors.Is(err, keystore.ErrKeyDisabled) && errors.As(err, &de) {
		fmt.Println("refused, key disabled:", de.Alias, "restorable until", de.DestroyAfter.Format(time.DateOnly))
	}

	if err := s.Update(ctx, func(tx *keystore.Tx) error {
		e, err := tx.Entry("tenant-2025")
		if err != nil {
			return err
		}
		return tx.Retain(e.Alias, e.Expires) // restore, keeping its expiry
	}); err != nil {
		log.Fatal(err)
	}
	_, err = dec.Decrypt(toOld)
	fmt.Println("decrypts after Restore:", err == nil)
	// Output:
	// refused, key disabled: tenant-2025 restorable until 2026-06-06
	// decrypts after Restore: true
}

// Once the restore window has passed, the next change destroys the
// disabled key: here an Update that changes nothing else, as a Follower's
// tick does. The store records each destruction in the same commit, for
// the audit trail.
func ExampleStore_Destructions() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	s, advance := renewedStore(ctx, dir)
	if err := s.Update(ctx, func(tx *keystore.Tx) error {
		return tx.Disable("tenant-2025", 24*time.Hour)
	}); err != nil {
		log.Fatal(err)
	}
	advance(24 * time.Hour)
	if err := s.Update(ctx, func(*keystore.Tx) error { return nil }); err != nil {
		log.Fatal(err)
	}
	records, err := s.Destructions()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range records {
		fmt.Println("recorded:", r.Alias, "at", r.Time.Format(time.DateOnly), "disabled", r.DisabledAt.Format(time.DateOnly))
	}
	_, err = s.View().Entry("tenant-2025")
	fmt.Println("unknown now:", errors.Is(err, keystore.ErrUnknownAlias))
	// Output:
	// recorded: tenant-2025 at 2026-05-31 disabled 2026-05-30
	// unknown now: true
}

// A SOAP client that follows the key store: its http.Client decrypts
// every response with the store's keys as they are now, without a
// restart when a renewal adds a key. The receiver here is a test server
// that encrypts its response.
func ExampleFollower_KeyRing() {
	dir, cleanup := tempStoreDir()
	defer cleanup()
	ctx := context.Background()
	pw := keystore.PasswordValue("example-store-password")
	s, err := keystore.Create(ctx, keystore.Dir(dir), pw, keystore.Options{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	cred := importBundle()
	if err := s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", cred, nil), tx.Rotate("tenant-2025"))
	}); err != nil {
		log.Fatal(err)
	}
	f, err := keystore.Follow(ctx, keystore.Dir(dir), pw, keystore.FollowOptions{Store: keystore.Options{Now: exampleNow}})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	encrypted, err := (&wssec.Encryptor{Certificate: cred.Certificate}).Encrypt([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Pong xmlns:p="urn:example">ok</p:Pong></soap:Body></soap:Envelope>`))
	if err != nil {
		log.Fatal(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(encrypted)
	}))
	defer receiver.Close()

	client := &http.Client{Transport: &wssec.Transport{Decryptor: &wssec.Decryptor{Keys: f.KeyRing()}}}
	resp, err := client.Post(receiver.URL, "text/xml; charset=utf-8", strings.NewReader("<request/>"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, strings.Contains(string(body), "<p:Pong"), strings.Contains(string(body), "EncryptedData"))
	// Output: 200 true false
}
