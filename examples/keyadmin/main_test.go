package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

const (
	testPassword = "keyadmin-store-password-for-tests"
	day          = 24 * time.Hour
)

// t0 is when the renewal starts: after the fixture certificates'
// notBefore.
var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// tool runs keyadmin on one key store, as an operator would, with a
// fixed clock for each run.
type tool struct {
	t      *testing.T
	tmp    string // a directory for the files the operator hands around
	dir    string // the key store
	global []string
	env    map[string]string
	all    strings.Builder // every output, to check that the password never shows
}

func newTool(t *testing.T, global ...string) *tool {
	t.Helper()
	tmp := t.TempDir()
	k := &tool{t: t, tmp: tmp, dir: filepath.Join(tmp, "keys"), env: map[string]string{"KEYADMIN_PW": testPassword}}
	k.global = append([]string{"-dir", k.dir, "-password-env", "KEYADMIN_PW", "-actor", "ops-alice"}, global...)
	t.Cleanup(func() {
		if strings.Contains(k.all.String(), testPassword) {
			t.Errorf("the store password appeared in the output:\n%s", k.all.String())
		}
	})
	return k
}

// run runs keyadmin at the time at and returns the exit code and the
// output (stdout, then stderr).
func (k *tool) run(at time.Time, args ...string) (int, string) {
	k.t.Helper()
	full := append(append([]string(nil), k.global...), args...)
	var stdout, stderr bytes.Buffer
	code := run(full, &stdout, &stderr, func(name string) string { return k.env[name] }, func() time.Time { return at })
	out := stdout.String() + stderr.String()
	k.all.WriteString(out)
	return code, out
}

// want runs keyadmin and fails the test unless it exits with code and
// its output contains every one of wants.
func (k *tool) want(code int, at time.Time, args []string, wants ...string) string {
	k.t.Helper()
	got, out := k.run(at, args...)
	if got != code {
		k.t.Fatalf("keyadmin %s = exit %d, want %d; output:\n%s", strings.Join(args, " "), got, code, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			k.t.Errorf("keyadmin %s output lacks %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	return out
}

// file writes data under the tool's directory and returns its path.
func (k *tool) file(name string, data []byte) string {
	k.t.Helper()
	p := filepath.Join(k.tmp, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		k.t.Fatal(err)
	}
	return p
}

// initFixture creates the store with the fixture "old" as current key
// tenant-2025, without generating a key.
func (k *tool) initFixture() {
	k.t.Helper()
	id := testpki.Load(testpki.Old)
	k.want(exitOK, t0, []string{"init", "-alias", "tenant-2025", "-key", k.file("old.key", id.KeyPEM), "-cert", k.file("old.pem", id.CertPEM)},
		"created key store "+k.dir,
		"current key: tenant-2025 ("+wssec.FingerprintOf(id.Certificate).String()+"), RSA 2048, current",
		"stage: idle (renewal 0)",
		"next: keyadmin create")
}

// args splits a command line.
func args(s string) []string { return strings.Fields(s) }

// signCSR plays the CA: it signs the request in csrFile with the fixture
// CA and returns the certificate followed by the CA's.
func signCSR(t *testing.T, csrFile string) []byte {
	t.Helper()
	data, err := os.ReadFile(csrFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("%s holds no certificate request:\n%s", csrFile, data)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ca := testpki.Load(testpki.CA)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      csr.Subject,
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.Add(700 * day),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, csr.PublicKey, ca.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.CertPEM...)
}

// decryptWithOld is the application: at the time at, it decrypts a
// response a receiver encrypted to the old key and writes the usage
// evidence to the store.
// refuseOld has an application refuse, at at, a response encrypted to
// the disabled old key and record the refusal.
func (k *tool) refuseOld(at time.Time) {
	k.t.Helper()
	ctx := context.Background()
	now := func() time.Time { return at }
	s, err := keystore.Open(ctx, keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: now})
	if err != nil {
		k.t.Fatalf("keystore.Open() error = %v", err)
	}
	m, err := rollover.NewManager(s, rollover.Options{Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		k.t.Fatalf("NewManager() error = %v", err)
	}
	ring, err := s.KeyRing()
	if err != nil {
		k.t.Fatalf("KeyRing() error = %v", err)
	}
	msg, err := (&wssec.Encryptor{Certificate: testpki.Load(testpki.Old).Certificate}).Encrypt([]byte(
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><r>late</r></soap:Body></soap:Envelope>`))
	if err != nil {
		k.t.Fatalf("Encrypt() error = %v", err)
	}
	_, err = (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
	if err = m.ObserveRefusal(err); !errors.Is(err, keystore.ErrKeyDisabled) {
		k.t.Fatalf("Decrypt() error = %v, want %v", err, keystore.ErrKeyDisabled)
	}
	if wrote, err := m.RecordUsage(ctx); err != nil || !wrote {
		k.t.Fatalf("RecordUsage() = %v, %v; want a write", wrote, err)
	}
}

func (k *tool) decryptWithOld(at time.Time) {
	k.t.Helper()
	ctx := context.Background()
	now := func() time.Time { return at }
	s, err := keystore.Open(ctx, keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: now})
	if err != nil {
		k.t.Fatalf("keystore.Open() error = %v", err)
	}
	m, err := rollover.NewManager(s, rollover.Options{Now: now, Policy: rollover.Policy{GuaranteedDelivery: 30 * day}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		k.t.Fatalf("NewManager() error = %v", err)
	}
	ring, err := s.KeyRing()
	if err != nil {
		k.t.Fatalf("KeyRing() error = %v", err)
	}
	msg, err := (&wssec.Encryptor{Certificate: testpki.Load(testpki.Old).Certificate}).Encrypt([]byte(
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><r>late</r></soap:Body></soap:Envelope>`))
	if err != nil {
		k.t.Fatalf("Encrypt() error = %v", err)
	}
	if _, err := (&wssec.Decryptor{Keys: ring}).Decrypt(msg); err != nil {
		k.t.Fatalf("Decrypt() error = %v", err)
	}
	if wrote, err := m.RecordUsage(ctx); err != nil || !wrote {
		k.t.Fatalf("RecordUsage() = %v, %v; want a write", wrote, err)
	}
}

// TestRun_renewal takes a whole renewal through the command, over 111
// days of the clock: a CA-signed new key, two receivers, a removal
// refused before the retention period ends and while the old key is
// still in use, and the audit trail.
func TestRun_renewal(t *testing.T) {
	t.Parallel()
	k := newTool(t, "-guaranteed-delivery", "30d")
	k.initFixture()
	k.want(exitOK, t0, args("status"),
		"stage: idle (renewal 0)",
		"current key: tenant-2025, certificate valid until 2046-11-21T06:57:04Z",
		"tenant-2025  current  EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF")

	// Step 1, with a certificate from the CA.
	k.want(exitOK, t0, args("create -alias tenant-2027 -bits 2048 -validity 730d"),
		"step 1 done: generated key pair tenant-2027",
		"RSA 2048, pending, subject CN=tenant.example,OU=Integration,O=Example Tenant,C=DE",
		"certificate valid until 2029-01-03T09:00:00Z",
		"stage: key-pair-created (renewal 1)",
		"next: keyadmin add (step 2)")
	k.want(exitStage, t0, args("create -alias tenant-2028 -bits 2048"),
		"not possible at stage key-pair-created of renewal 1: a renewal is in progress",
		"next: keyadmin add")
	k.want(exitRefused, t0, args("export-cert -alias tenant-2027"),
		"refused: key tenant-2027 is pending",
		"allowed: after step 2, keyadmin add")
	csr := filepath.Join(k.tmp, "tenant-2027.csr")
	k.want(exitOK, t0, args("csr -out "+csr), "wrote the certificate request for tenant-2027")
	signed := k.file("signed.pem", signCSR(t, csr))
	k.want(exitOK, t0, args("adopt -cert "+signed),
		"tenant-2027 now has the certificate issued by CN=wsrenew Test CA,O=wsrenew test,C=DE (1 certificate in the chain)",
		"certificate valid until 2028-12-04T09:00:00Z",
		"stage: key-pair-created (renewal 1)")

	// Step 2.
	k.want(exitOK, t0, args("add"),
		"step 2 done: tenant-2027 is the current key; tenant-2025 is retained with no expiry",
		"stage: key-added (renewal 1)",
		"next: keyadmin provide")

	// Step 3.
	out := filepath.Join(k.tmp, "handoff")
	k.want(exitOK, t0, []string{"provide", "-receiver", "partner-a=orders service of partner-a", "-receiver", "partner-b", "-to-dir", out, "-note", "sent by mail"},
		"step 3 done: self-test passed; certificate of tenant-2027 provided to partner-a, partner-b",
		"wrote "+filepath.Join(out, "tenant-2027.pem"),
		"wrote "+filepath.Join(out, "tenant-2027.der"),
		"wrote "+filepath.Join(out, "tenant-2027.txt"),
		"stage: certificate-provided (renewal 1)",
		"pending: partner-a, partner-b")
	bundleDER, err := os.ReadFile(filepath.Join(out, "tenant-2027.der"))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(filepath.Join(out, "tenant-2027.txt"))
	for _, w := range []string{"X509SerialNumber:     4242", "X509IssuerName:       CN=wsrenew Test CA,O=wsrenew test,C=DE", "partner-a (orders service of partner-a)"} {
		if !strings.Contains(string(text), w) {
			t.Errorf("tenant-2027.txt lacks %q:\n%s", w, text)
		}
	}
	if pemData, _ := os.ReadFile(filepath.Join(out, "tenant-2027.pem")); bytes.Count(pemData, []byte("BEGIN CERTIFICATE")) != 2 {
		t.Errorf("tenant-2027.pem holds %d certificates, want the new one and the CA", bytes.Count(pemData, []byte("BEGIN CERTIFICATE")))
	}
	exported := filepath.Join(k.tmp, "exported.der")
	bundleCert, err := x509.ParseCertificate(bundleDER)
	if err != nil {
		t.Fatal(err)
	}
	k.want(exitOK, t0, args("export-cert -format der -out "+exported), "wrote the certificate of tenant-2027 (DER)",
		"subject CN=tenant.example,OU=Integration,O=Example Tenant,C=DE, valid until 2028-12-04T09:00:00Z",
		"SHA-256: "+wssec.FingerprintOf(bundleCert).String())
	if der, _ := os.ReadFile(exported); !bytes.Equal(der, bundleDER) {
		t.Error("export-cert of the current key differs from the bundle's DER")
	}
	k.want(exitStage, t0, args("cancel -reason changed-our-mind"), "can no longer be cancelled")
	k.want(exitRefused, t0, args("remove"),
		"refused: receivers partner-a, partner-b have not confirmed",
		"allowed: 90 days after the last receiver confirms; 2027-04-04T09:00:00Z at the earliest")

	// Steps 4 to 6.
	k.want(exitUsage, t0.Add(day), args("confirm -receiver partner-c -by bob -ref PA-17"),
		"unknown receiver", "the certificate was provided to: partner-a, partner-b")
	k.want(exitOK, t0.Add(2*day), args("confirm -receiver partner-a -by bob@partner-a -ref PA-17"),
		"step 6 recorded: partner-a encrypts with the new key (confirmed by bob@partner-a, reference PA-17)",
		"still pending: partner-b",
		"stage: certificate-provided (renewal 1)")
	k.want(exitStage, t0.Add(2*day), args("confirm -receiver partner-a -by bob@partner-a -ref PA-17"), "already confirmed")
	confirmed := t0.Add(3 * day)
	expires := confirmed.Add(90 * day)
	k.want(exitOK, confirmed, args("confirm -receiver partner-b -by carol@partner-b -ref PB-4"),
		"every receiver has confirmed: old key tenant-2025 is retained until "+stamp(expires)+" (in 90 days)",
		"stage: receivers-switched (renewal 1)",
		"next: keyadmin remove (step 7), allowed from "+stamp(expires))
	k.want(exitStage, confirmed, args("confirm -receiver partner-b -by carol@partner-b -ref PB-4"), "every receiver has confirmed already")

	// Step 7: refused during the retention period, then while the old
	// key still decrypts, then done.
	k.want(exitRefused, t0.Add(50*day), args("remove"),
		"refused: the retention period of old key tenant-2025 (EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF) has not ended",
		"allowed from: "+stamp(expires)+" (in 43 days)")
	lastUse := t0.Add(80 * day)
	k.decryptWithOld(lastUse)
	k.want(exitOK, t0.Add(94*day), args("status"),
		"stage: receivers-switched (renewal 1)",
		"tenant-2025  retained  EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF  2046-11-21T06:57:04Z  "+stamp(expires)+"  "+stamp(lastUse),
		"partner-a  "+stamp(t0.Add(2*day))+"  bob@partner-a",
		"partner-b  "+stamp(confirmed)+"  carol@partner-b",
		"warning: the old key decrypted 1 response after a confirmation",
		"old key tenant-2025: retained until "+stamp(expires)+"; removable from "+stamp(lastUse.Add(30*day)))
	k.want(exitRefused, t0.Add(94*day), args("remove"),
		"refused: old key tenant-2025 (EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF) decrypted a response at "+stamp(lastUse)+", less than the guaranteed delivery time ago",
		"allowed from: "+stamp(lastUse.Add(30*day))+" (in 16 days)")
	k.want(exitUsage, t0.Add(111*day), args("remove -restore-window soon"), "-restore-window wants a duration")
	destroyAfter := t0.Add(111*day + 7*day)
	k.want(exitOK, t0.Add(111*day), args("remove"),
		"step 7 done: old key tenant-2025 (EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF) disabled; renewal 1 completed",
		"it is destroyed after "+stamp(destroyAfter)+" (in 7 days) unless restored with keyadmin restore -alias tenant-2025",
		"current key: tenant-2027",
		"stage: idle (renewal 1)")
	refusedAt := t0.Add(111*day + 3*time.Hour)
	k.refuseOld(refusedAt)
	k.want(exitOK, t0.Add(112*day), args("status"),
		"tenant-2025  disabled  EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF",
		"disabled key tenant-2025 (EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF): out of the key ring since "+stamp(t0.Add(111*day)),
		"warning: 1 message encrypted to disabled key tenant-2025 refused, the last at "+stamp(refusedAt))

	// Restored within the window, then disabled by nothing: it stays.
	k.want(exitUsage, t0.Add(112*day), args("restore"), "restore needs -alias")
	k.want(exitStage, t0.Add(112*day), args("restore -alias tenant-2027"), "key tenant-2027 is current, not disabled")
	k.want(exitFailure, t0.Add(112*day), args("restore -alias tenant-2020"), "no key tenant-2020 in the store")
	k.want(exitOK, t0.Add(112*day), args("restore -alias tenant-2025"),
		"key tenant-2025 (EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF) restored: in the key ring again as a retained key, retention ended "+stamp(expires))
	k.want(exitOK, t0.Add(112*day), args("status"), "tenant-2025  retained  EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF",
		"key tenant-2025 (EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF): 1 message refused while it was disabled, the last at "+stamp(refusedAt))

	h := k.want(exitOK, t0.Add(112*day), args("status -history"),
		"stage: idle (renewal 1)",
		"last renewal: 1 completed at "+stamp(t0.Add(111*day)),
		"history:",
		"renewal 1  adopt-certificate  actor=ops-alice",
		"confirm-receiver-switched  actor=ops-alice",
		"receiver=partner-b  by=carol@partner-b  ref=PB-4",
		"set-old-key-expiry",
		"disable-old-key",
		"disabled-key-refused",
		"restore-key")
	if strings.Contains(h, "disabled key tenant-2025") {
		t.Errorf("status lists the restored key as disabled:\n%s", h)
	}
}

// TestRun_importCancel takes step 1 with key pairs made elsewhere, PEM
// and PKCS#12, and cancels before step 3.
func TestRun_importCancel(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	id := testpki.Load(testpki.New)
	newFP := wssec.FingerprintOf(id.Certificate).String()
	k.want(exitOK, t0, args("import -alias tenant-2027 -key "+k.file("new.key", id.KeyPEM)+" -cert "+k.file("new.pem", id.CertPEM)),
		"step 1 done: imported key pair tenant-2027",
		"tenant-2027 ("+newFP+"), RSA 3072, pending",
		"stage: key-pair-created (renewal 1)")
	k.want(exitFailure, t0, args("init -alias again -subject CN=x"), "already holds a key store with 2 keys")

	// The operator keeps a PKCS#12 copy of the new key to import again.
	s, err := keystore.Open(context.Background(), keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := s.ExportPKCS12("tenant-2027", "p12-file-password")
	if err != nil {
		t.Fatal(err)
	}
	p12File := k.file("tenant-2027.p12", p12)

	k.want(exitOK, t0, args("add"), "stage: key-added (renewal 1)")
	k.want(exitOK, t0.Add(day), args("cancel -reason wrong-subject"),
		"renewal 1 cancelled",
		"current key: tenant-2025",
		"stage: idle (renewal 1)")
	k.want(exitOK, t0.Add(day), args("status"), "last renewal: 1 cancelled")

	k.want(exitFailure, t0.Add(day), args("import -alias tenant-2027b -pkcs12 "+p12File), "wrong password")
	k.env["P12_PW"] = "p12-file-password"
	k.want(exitOK, t0.Add(day), args("import -alias tenant-2027b -pkcs12 "+p12File+" -file-password-env P12_PW"),
		"tenant-2027b ("+newFP+"), RSA 3072, pending",
		"stage: key-pair-created (renewal 2)")
	k.want(exitOK, t0.Add(day), args("cancel -reason test"), "renewal 2 cancelled")
}

// TestRun_init creates a store with a generated key and a password file,
// and opens it with a wrong password.
func TestRun_init(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	pwFile := k.file("store-password", []byte(testPassword+"\n"))
	k.global = []string{"-dir", k.dir, "-password-file", pwFile}
	k.want(exitOK, t0, []string{"init", "-alias", "tenant-2025", "-bits", "2048", "-validity", "365d", "-subject", "CN=tenant.example,O=Example Tenant,C=DE"},
		"created key store",
		"RSA 2048, current, subject CN=tenant.example,O=Example Tenant,C=DE, certificate valid until 2028-01-04T09:00:00Z",
		"stage: idle (renewal 0)")
	k.want(exitFailure, t0, []string{"init", "-alias", "other", "-subject", "CN=x"}, "already holds a key store with 1 key")
	k.want(exitOK, t0.Add(320*day), args("status"),
		"current key: tenant-2025, certificate valid until 2028-01-04T09:00:00Z (45 days left)",
		"warning: renewal due: the current certificate expires in 45 days; start with keyadmin create")

	k.global = []string{"-dir", k.dir, "-password-env", "WRONG"}
	k.env["WRONG"] = "not-the-password"
	k.want(exitFailure, t0, args("status"), "wrong password")
}

// TestRun_wrongStage runs each step on a store where no renewal is in
// progress.
func TestRun_wrongStage(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	cert := k.file("cert.pem", testpki.Load(testpki.New).CertPEM)
	for _, cmd := range []string{
		"add",
		"csr -out -",
		"adopt -cert " + cert,
		"provide -receiver partner -to-dir " + k.tmp,
		"confirm -receiver partner -by bob -ref PA-1",
		"remove",
		"cancel -reason test",
	} {
		k.want(exitStage, t0, args(cmd),
			"not possible at stage idle of renewal 0",
			"stage: idle (renewal 0)",
			"next: keyadmin create -alias NEW (step 1)")
	}
	k.want(exitOK, t0, args("status -history"), "no steps taken yet")
	k.want(exitUsage, t0, args("export-cert -alias nope"), "unknown alias")
}

// TestRun_usage checks the usage errors, which need no key store.
func TestRun_usage(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no command", nil, nil, exitUsage, "usage: keyadmin"},
		{"help", args("-h"), nil, exitOK, "commands:"},
		{"unknown command", args("rotate"), nil, exitUsage, `unknown command "rotate"`},
		{"unknown global flag", args("-password pw status"), nil, exitUsage, "flag provided but not defined: -password"},
		{"command help", args("create -h"), nil, exitOK, "usage: keyadmin [global flags] create -alias A"},
		{"no dir", args("-password-env PW status"), map[string]string{"PW": "x"}, exitUsage, "no key store: give -dir DIR or set WSRENEW_KEYSTORE"},
		{"no password", args("status"), map[string]string{"WSRENEW_KEYSTORE": dir}, exitUsage, "there is no default"},
		{"empty password", args("-dir " + dir + " -password-env PW status"), nil, exitUsage, "environment variable PW is unset or empty"},
		{"two passwords", args("-dir " + dir + " -password-env PW -password-file f status"), map[string]string{"PW": "x"}, exitUsage, "not both"},
		{"no store", args("-password-env PW status"), map[string]string{"PW": "x", "WSRENEW_KEYSTORE": dir}, exitFailure, "no key store in " + dir + "; create one with 'keyadmin init'"},
		{"bad now", args("-now tomorrow status"), nil, exitUsage, "-now wants an RFC 3339 time"},
		{"bad delivery", args("-guaranteed-delivery soon status"), nil, exitUsage, "-guaranteed-delivery (or $WSRENEW_GUARANTEED_DELIVERY) wants a duration"},
		{"bad delivery in environment", args("status"), map[string]string{"WSRENEW_GUARANTEED_DELIVERY": "-3d"}, exitUsage, "wants a duration"},
		{"extra argument", args("status now"), nil, exitUsage, `unexpected argument "now"`},
		{"create without alias", args("create -bits 2048"), nil, exitUsage, "-alias is required"},
		{"create bad validity", args("create -alias a -validity forever"), nil, exitUsage, "-validity wants a positive duration"},
		{"create bad subject", args("create -alias a -subject XX=1"), nil, exitUsage, `unsupported subject attribute "XX"`},
		{"init without subject", args("init -alias a"), map[string]string{"PW": "x", "WSRENEW_KEYSTORE": dir}, exitUsage, "-subject is required for a generated key"},
		{"init key without cert", args("-password-env PW init -alias a -key k.pem"), map[string]string{"PW": "x", "WSRENEW_KEYSTORE": dir}, exitUsage, "-key and -cert go together"},
		{"init import with bits", args("-password-env PW init -alias a -pkcs12 a.p12 -bits 2048"), map[string]string{"PW": "x", "WSRENEW_KEYSTORE": dir}, exitUsage, "are for a generated key"},
		{"import both forms", args("import -alias a -pkcs12 a.p12 -key k.pem -cert c.pem"), nil, exitUsage, "give one of"},
		{"provide without receiver", args("provide -to-dir out"), nil, exitUsage, "at least one -receiver is required"},
		{"provide empty receiver", args("provide -receiver =x -to-dir out"), nil, exitUsage, "empty receiver ID"},
		{"confirm without ref", args("confirm -receiver a -by bob"), nil, exitUsage, "-ref is required"},
		{"cancel without reason", args("cancel"), nil, exitUsage, "-reason is required"},
		{"der to terminal", args("export-cert -format der"), nil, exitUsage, "DER is binary"},
		{"bad format", args("export-cert -format p12"), nil, exitUsage, "-format is pem or der"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr, func(name string) string { return tc.env[name] }, func() time.Time { return t0 })
			out := stdout.String() + stderr.String()
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("keyadmin %s = exit %d, output:\n%s\nwant exit %d and %q", strings.Join(tc.args, " "), code, out, tc.code, tc.want)
			}
		})
	}
}

// Exporting the new certificate before step 3 counts as handing it out:
// the store keeps the key, and cancel is refused without removing it.
func TestRun_exportBeforeProvide(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	newID := testpki.Load(testpki.New)
	k.want(exitOK, t0, []string{"import", "-alias", "tenant-2027", "-key", k.file("new.key", newID.KeyPEM), "-cert", k.file("new.pem", newID.CertPEM)})
	k.want(exitOK, t0.Add(time.Hour), args("add"))
	k.want(exitOK, t0.Add(2*time.Hour), []string{"export-cert", "-out", filepath.Join(k.tmp, "new-out.pem")},
		"recorded that the certificate of tenant-2027 was handed out",
		"the renewal can no longer be cancelled")
	k.want(exitStage, t0.Add(3*time.Hour), args("cancel -reason oops"),
		"Cancel refused", "tenant-2027", "handed out at 2027-01-04T11:00:00Z", "stage: key-added")
	k.want(exitOK, t0.Add(3*time.Hour), args("status"), "tenant-2027", "tenant-2025")
	k.want(exitOK, t0.Add(4*time.Hour), args("status -history"), "export-certificate")
}

// -now simulates a command on a copy: the store is not changed, and its
// audit trail says that a simulation ran.
func TestRun_nowSimulates(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	k.want(exitOK, t0, args("create -alias tenant-2027 -bits 2048"))
	k.want(exitOK, t0.Add(time.Hour), args("add"))
	k.want(exitOK, t0.Add(2*time.Hour), []string{"provide", "-receiver", "partner", "-to-dir", filepath.Join(k.tmp, "out")})
	k.want(exitOK, t0.Add(3*time.Hour), args("confirm -receiver partner -by bob -ref T-1"))
	later := t0.Add(400 * day).Format(time.RFC3339)
	k.want(exitOK, t0.Add(4*time.Hour), []string{"-now", later, "remove"},
		"SIMULATION", "old key", "was not changed")
	// The store still holds the old key, and removal is refused by the
	// real clock.
	k.want(exitRefused, t0.Add(5*time.Hour), args("remove"), "retention period")
	k.want(exitOK, t0.Add(5*time.Hour), args("status -history"), "tenant-2025", "simulation of 'keyadmin remove'")
	// A simulation in the past changes nothing either.
	k.want(exitFailure, t0.Add(6*time.Hour), []string{"-now", t0.Format(time.RFC3339), "remove"},
		"SIMULATION", "clock", "correct the clock")
	for _, c := range []string{"provide", "export-cert", "init", "recover"} {
		k.want(exitUsage, t0.Add(7*time.Hour), []string{"-now", later, c}, "cannot be simulated")
	}
}

// What a first-time operator meets: messages that say what was done and
// what comes next, import errors that name the flag to use, one PEM file
// for key and certificate, the retention rules in status, and a
// directory others may write refused.
func TestRun_operator(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	k.want(exitOK, t0, args("status"), "retention rules: the old key is kept 90 days after the last confirmation")
	id := testpki.Load(testpki.New)

	// A PKCS#12 file with its own password, given none or a wrong one.
	s, err := keystore.Open(context.Background(), keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := s.ExportPKCS12("tenant-2025", "p12-file-password")
	if err != nil {
		t.Fatal(err)
	}
	p12File := k.file("old.p12", p12)
	k.want(exitFailure, t0, args("import -alias x -pkcs12 "+p12File), "wrong password", "-file-password-env NAME or -file-password-file PATH")
	k.env["P12_PW"] = "wrong"
	k.want(exitFailure, t0, args("import -alias x -pkcs12 "+p12File+" -file-password-env P12_PW"), "the password from -file-password-env P12_PW does not open the file")

	// An EC key, and an alias with a space.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecFile := k.file("ec.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	out := k.want(exitFailure, t0, args("import -alias x -key "+ecFile+" -cert "+k.file("new.pem", id.CertPEM)), "unsupported key algorithm ECDSA P-256")
	if strings.Contains(out, "*ecdsa") {
		t.Errorf("import of an EC key names a Go type:\n%s", out)
	}
	k.want(exitUsage, t0, []string{"import", "-alias", "tenant 2027", "-pem", k.file("both.pem", append(append([]byte(nil), id.KeyPEM...), id.CertPEM...))},
		"ASCII letters, digits, '.', '_' and '-'")

	// Key and certificate in one file, with one flag.
	k.want(exitOK, t0, args("import -alias tenant-2027 -pem "+filepath.Join(k.tmp, "both.pem")), "step 1 done: imported key pair tenant-2027")
	k.want(exitOK, t0.Add(time.Hour), args("add"), "step 2 done")
	k.want(exitStage, t0.Add(time.Hour), args("add"),
		"add is step 2", "done: steps 1 and 2: new key tenant-2027 is the current key", "next: keyadmin provide")

	// A directory others may write.
	open := filepath.Join(k.tmp, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	k.global = []string{"-dir", open, "-password-env", "KEYADMIN_PW"}
	k.want(exitFailure, t0, args("init -alias a -subject CN=x -bits 2048"), "writable by others (mode 0777)", "chmod 700")
}

// Two operators confirm different receivers at the same moment: both
// confirmations are recorded.
func TestRun_concurrentConfirms(t *testing.T) {
	t.Parallel()
	for round := range 4 {
		k := newTool(t)
		k.initFixture()
		id := testpki.Load(testpki.New)
		k.want(exitOK, t0, args("import -alias tenant-2027 -key "+k.file("new.key", id.KeyPEM)+" -cert "+k.file("new.pem", id.CertPEM)))
		k.want(exitOK, t0, args("add"))
		k.want(exitOK, t0.Add(time.Hour), []string{"provide", "-receiver", "a", "-receiver", "b", "-receiver", "c", "-to-dir", filepath.Join(k.tmp, "out")})
		var wg sync.WaitGroup
		codes := make([]int, 3)
		outs := make([]string, 3)
		for i, r := range []string{"a", "b", "c"} {
			wg.Go(func() {
				full := append(append([]string(nil), k.global...), "confirm", "-receiver", r, "-by", "ops", "-ref", "T-"+r)
				var stdout, stderr bytes.Buffer
				codes[i] = run(full, &stdout, &stderr, func(name string) string { return k.env[name] }, func() time.Time { return t0.Add(2 * time.Hour) })
				outs[i] = stdout.String() + stderr.String()
			})
		}
		wg.Wait()
		for i := range codes {
			if codes[i] != exitOK {
				t.Fatalf("round %d: concurrent confirm %d = exit %d:\n%s", round, i, codes[i], outs[i])
			}
		}
		k.want(exitOK, t0.Add(3*time.Hour), args("status"), "stage: receivers-switched")
	}
}

// With the manifest lost but the key files left, status and init point
// to recover, which rebuilds the store with every key in the ring.
func TestRun_recover(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	id := testpki.Load(testpki.New)
	k.want(exitOK, t0, args("import -alias tenant-2027 -key "+k.file("new.key", id.KeyPEM)+" -cert "+k.file("new.pem", id.CertPEM)))
	k.want(exitOK, t0.Add(time.Hour), args("add"))
	k.want(exitOK, t0.Add(2*time.Hour), []string{"provide", "-receiver", "partner", "-to-dir", filepath.Join(k.tmp, "out")})
	if err := os.Remove(filepath.Join(k.dir, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{args("status"), args("init -alias x -subject CN=x -bits 2048")} {
		k.want(exitFailure, t0.Add(3*time.Hour), c, "manifest of the key store", "is missing", "tenant-2025 (generation", "tenant-2027 (generation", "keyadmin recover -current ALIAS")
	}
	k.want(exitRefused, t0.Add(3*time.Hour), args("recover -current tenant-2027 -retain tenant-2025=2027-02-01"), "refused")
	k.want(exitOK, t0.Add(3*time.Hour), args("recover -current tenant-2027 -retain tenant-2025=2027-06-30"),
		"rebuilt the key store", "current key: tenant-2027", "retained: tenant-2025 until 2027-06-30")
	k.want(exitOK, t0.Add(4*time.Hour), args("status -history"), "tenant-2025", "store rebuilt from the key files left", "stage: idle")
}
