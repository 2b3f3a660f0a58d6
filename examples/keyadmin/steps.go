package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// keyFlags are the flags of a generated key.
type keyFlags struct {
	alias, subject, validity *string
	bits                     *int
}

func (a *app) keyFlags(withKey bool) (*keyFlags, *source, *flag.FlagSet) {
	fs := a.flags()
	k := &keyFlags{alias: fs.String("alias", "", "alias of the new key in the store (required)")}
	k.subject = fs.String("subject", "", "certificate subject, such as CN=tenant.example,O=Example Tenant")
	k.bits = fs.Int("bits", 3072, "RSA key size: 2048, 3072 or 4096")
	k.validity = fs.String("validity", "730d", "validity of the self-signed certificate, in days (730d) or hours (72h)")
	var src *source
	if withKey {
		src = &source{}
		src.register(fs)
	}
	return k, src, fs
}

// request checks the key flags.
func (a *app) request(k *keyFlags) (rollover.KeyRequest, string) {
	req := rollover.KeyRequest{Alias: *k.alias, Bits: *k.bits}
	if req.Alias == "" {
		return req, "-alias is required"
	}
	if *k.subject != "" {
		n, err := parseSubject(*k.subject)
		if err != nil {
			return req, "-subject: " + err.Error()
		}
		req.Subject = n
	}
	d, err := parseDuration(*k.validity)
	if err != nil || d <= 0 {
		return req, "-validity wants a positive duration such as 730d"
	}
	req.Validity = d
	return req, ""
}

// cmdInit creates a key store with its first current key, generated or
// imported. The procedure starts from there.
func cmdInit(a *app, args []string) int {
	k, src, fs := a.keyFlags(true)
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	req, msg := a.request(k)
	if msg != "" {
		return a.usageError(msg)
	}
	if src.given() {
		if msg := src.check(); msg != "" {
			return a.usageError(msg)
		}
		generated := false
		fs.Visit(func(f *flag.Flag) {
			generated = generated || f.Name == "subject" || f.Name == "bits" || f.Name == "validity"
		})
		if generated {
			return a.usageError("-subject, -bits and -validity are for a generated key; an imported key keeps its certificate")
		}
	} else if *k.subject == "" {
		return a.usageError("-subject is required for a generated key (or import one with -pkcs12 FILE or -key FILE -cert FILE)")
	}
	if a.storeDir() == "" {
		return a.usageError("no key store: give -dir DIR or set WSRENEW_KEYSTORE")
	}
	pw, msg := a.password()
	if msg != "" {
		return a.usageError(msg)
	}
	backend, opts := keystore.Dir(a.dir), keystore.Options{Now: a.now}

	// An existing store is refused before a key is generated; one that an
	// interrupted init left empty is taken as it is.
	s, err := keystore.Open(a.ctx, backend, pw, opts)
	switch {
	case err == nil && len(s.Entries()) > 0:
		fmt.Fprintf(a.stderr, "keyadmin init: %s already holds a key store with %s; see keyadmin status\n", a.dir, plural(len(s.Entries()), "key"))
		return exitFailure
	case err != nil && !errors.Is(err, keystore.ErrNotExist):
		return a.fail(err)
	}

	var cred *keystore.Credential
	if src.given() {
		cred, err = src.load(a.env)
	} else {
		cred, err = keystore.Generate(req.Subject, keystore.GenerateOptions{Bits: req.Bits, Validity: req.Validity, Now: a.now})
	}
	if err != nil {
		return a.fail(err)
	}
	if s == nil {
		if s, err = keystore.Create(a.ctx, backend, pw, opts); err != nil {
			return a.fail(err)
		}
	}
	err = s.Update(a.ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(req.Alias, cred, nil); err != nil {
			return err
		}
		return tx.Rotate(req.Alias)
	})
	if err != nil {
		return a.fail(err)
	}
	if code, ok := a.manage(s); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	a.printf("created key store %s", a.dir)
	a.printf("current key: %s", a.describe(req.Alias))
	a.stageLines(a.printf, stage)
	return exitOK
}

// cmdCreate is step 1 with a generated key pair.
func cmdCreate(a *app, args []string) int {
	k, _, fs := a.keyFlags(false)
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	req, msg := a.request(k)
	if msg != "" {
		return a.usageError(msg)
	}
	idle, code, ok := a.idle()
	if !ok {
		return code
	}
	created, err := idle.CreateKeyPair(a.ctx, req)
	if err != nil {
		return a.fail(err)
	}
	a.printf("step 1 done: generated key pair %s; it is pending, not in the key ring yet", req.Alias)
	a.printf("new key: %s", a.describe(req.Alias))
	a.stageLines(a.printf, created)
	return exitOK
}

// cmdImport is step 1 with a key pair made elsewhere.
func cmdImport(a *app, args []string) int {
	fs := a.flags()
	alias := fs.String("alias", "", "alias of the new key in the store (required)")
	var src source
	src.register(fs)
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *alias == "" {
		return a.usageError("-alias is required")
	}
	if msg := src.check(); msg != "" {
		return a.usageError(msg)
	}
	cred, err := src.load(a.env)
	if err != nil {
		return a.fail(err)
	}
	idle, code, ok := a.idle()
	if !ok {
		return code
	}
	created, err := idle.ImportKeyPair(a.ctx, *alias, cred)
	if err != nil {
		return a.fail(err)
	}
	a.printf("step 1 done: imported key pair %s; it is pending, not in the key ring yet", *alias)
	a.printf("new key: %s", a.describe(*alias))
	a.stageLines(a.printf, created)
	return exitOK
}

// idle opens the store and returns the Idle stage a renewal starts from.
func (a *app) idle() (*rollover.Idle, int, bool) {
	if code, ok := a.open(); !ok {
		return nil, code, false
	}
	stage, code, ok := a.resume()
	if !ok {
		return nil, code, false
	}
	idle, ok := stage.(*rollover.Idle)
	if !ok {
		return nil, a.wrongStage(stage, "a renewal is in progress; the next one starts after its step 7"), false
	}
	return idle, 0, true
}

// created opens the store and returns the KeyPairCreated stage.
func (a *app) created() (*rollover.KeyPairCreated, int, bool) {
	if code, ok := a.open(); !ok {
		return nil, code, false
	}
	stage, code, ok := a.resume()
	if !ok {
		return nil, code, false
	}
	created, ok := stage.(*rollover.KeyPairCreated)
	if !ok {
		return nil, a.wrongStage(stage, "this comes after step 1 and before step 2"), false
	}
	return created, 0, true
}

// cmdCSR writes a certificate request for the new key (step 1, CA path).
func cmdCSR(a *app, args []string) int {
	fs := a.flags()
	out := fs.String("out", "", "file for the PEM certificate request, or - for standard output (required)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *out == "" {
		return a.usageError("-out is required")
	}
	created, code, ok := a.created()
	if !ok {
		return code
	}
	csr, err := created.CertificateRequest()
	if err != nil {
		return a.fail(err)
	}
	if err := writeOutput(*out, csr, a.stdout); err != nil {
		return a.fail(err)
	}
	if *out != "-" {
		a.printf("wrote the certificate request for %s to %s", created.Report().New.Alias, *out)
		a.printf("next: have a CA sign it, then keyadmin adopt -cert FILE; or keyadmin add to use the self-signed certificate")
	}
	return exitOK
}

// cmdAdopt puts a CA's certificate on the new key (step 1, CA path).
func cmdAdopt(a *app, args []string) int {
	fs := a.flags()
	in := fs.String("cert", "", "the CA's answer: the certificate and its issuing CAs, PEM or DER (required)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *in == "" {
		return a.usageError("-cert is required")
	}
	data, err := readInput(*in)
	if err != nil {
		return a.fail(err)
	}
	certs, err := keystore.ParseCertificates(data)
	if err != nil {
		return a.fail(err)
	}
	created, code, ok := a.created()
	if !ok {
		return code
	}
	alias := created.Report().New.Alias
	e, err := a.store.Entry(alias)
	if err != nil {
		return a.fail(err)
	}
	leaf, chain := splitChain(certs, e.Certificate.PublicKey)
	adopted, err := created.AdoptCertificate(a.ctx, leaf, chain)
	if err != nil {
		return a.fail(err)
	}
	a.printf("step 1: %s now has the certificate issued by %s (%s in the chain)", alias, leaf.Issuer, plural(len(chain), "certificate"))
	a.printf("new key: %s", a.describe(alias))
	a.stageLines(a.printf, adopted)
	return exitOK
}

// splitChain returns the certificate of pub, or the first one if none
// is (AdoptCertificate then names the mismatch), and the others.
func splitChain(certs []*x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, []*x509.Certificate) {
	i := 0
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); ok {
		for j, c := range certs {
			if k.Equal(c.PublicKey) {
				i = j
				break
			}
		}
	}
	var chain []*x509.Certificate
	for j, c := range certs {
		if j != i {
			chain = append(chain, c)
		}
	}
	return certs[i], chain
}

// cmdAdd is step 2.
func cmdAdd(a *app, args []string) int {
	if code, ok := a.parse(a.flags(), args); !ok {
		return code
	}
	created, code, ok := a.created()
	if !ok {
		return code
	}
	added, err := created.AddToKeyStore(a.ctx)
	if err != nil {
		return a.fail(err)
	}
	r := added.Report()
	a.printf("step 2 done: %s is the current key; %s is retained with no expiry, so both decrypt", r.New.Alias, r.Old.Alias)
	a.printf("processes that decrypt with this store use the new key after their next reload of it; make sure they have before step 3")
	a.stageLines(a.printf, added)
	return exitOK
}

// cmdProvide is step 3: the self-test, the receivers, the bundle.
func cmdProvide(a *app, args []string) int {
	fs := a.flags()
	var receivers receiverFlags
	fs.Var(&receivers, "receiver", "a receiver given the certificate, as ID or ID=DESCRIPTION; repeat for several (at least one)")
	dir := fs.String("to-dir", "", "directory for the hand-off bundle (required)")
	note := fs.String("note", "", "note for the audit trail, such as how the bundle is sent")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if len(receivers) == 0 {
		return a.usageError("at least one -receiver is required")
	}
	if *dir == "" {
		return a.usageError("-to-dir is required")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	added, ok := stage.(*rollover.KeyAdded)
	if !ok {
		return a.wrongStage(stage, "this is step 3, after step 2")
	}
	// The directory is made before the step, so that writing the bundle
	// afterwards is unlikely to fail.
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return a.fail(err)
	}
	provided, err := added.ProvideCertificate(a.ctx, rollover.Handoff{Receivers: receivers, Note: *note})
	if err != nil {
		return a.fail(err)
	}
	ids := make([]string, len(receivers))
	for i, r := range receivers {
		ids[i] = r.ID
	}
	a.printf("step 3 done: self-test passed; certificate of %s provided to %s", provided.Report().New.Alias, list(ids))
	b, err := provided.Bundle()
	if err == nil {
		err = a.writeBundle(*dir, b)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "keyadmin provide: the step is recorded, but the bundle was not written: %v\n", err)
		fmt.Fprintf(a.stderr, "write the certificate again with keyadmin export-cert -alias %s\n", provided.Report().New.Alias)
		return exitFailure
	}
	a.printf("SHA-256: %s", b.Certificate.SHA256)
	a.stageLines(a.printf, provided)
	return exitOK
}

// writeBundle writes what the receivers' administrators get.
func (a *app) writeBundle(dir string, b *rollover.Bundle) error {
	base := filepath.Join(dir, b.Certificate.Alias)
	files := []struct {
		ext, what string
		data      []byte
	}{
		{".pem", "certificate and chain, PEM", b.PEM()},
		{".der", "certificate, DER", b.Certificate.DER},
		{".txt", "fingerprints and key identifiers", []byte(b.String())},
	}
	for _, f := range files {
		if err := os.WriteFile(base+f.ext, f.data, 0o644); err != nil {
			return err
		}
		a.printf("wrote %s (%s)", base+f.ext, f.what)
	}
	return nil
}

// cmdExportCert writes a key's certificate.
func cmdExportCert(a *app, args []string) int {
	fs := a.flags()
	alias := fs.String("alias", "", "the key; the current key if empty")
	format := fs.String("format", "pem", "pem or der")
	out := fs.String("out", "-", "file to write, or - for standard output (PEM only)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	switch {
	case *format != "pem" && *format != "der":
		return a.usageError("-format is pem or der")
	case *format == "der" && *out == "-":
		return a.usageError("DER is binary: give -out FILE")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	if *alias == "" {
		for _, e := range a.store.Entries() {
			if e.Status == keystore.StatusCurrent {
				*alias = e.Alias
			}
		}
	}
	c, err := a.store.ExportCertificate(*alias)
	if err != nil {
		return a.fail(err)
	}
	data := c.PEM
	if *format == "der" {
		data = c.DER
	}
	if err := writeOutput(*out, data, a.stdout); err != nil {
		return a.fail(err)
	}
	if *out != "-" {
		a.printf("wrote the certificate of %s (%s) to %s", c.Alias, strings.ToUpper(*format), *out)
		a.printf("SHA-256: %s", c.SHA256)
	}
	return exitOK
}

// cmdConfirm records a receiver's word that it switched (steps 4 to 6).
func cmdConfirm(a *app, args []string) int {
	fs := a.flags()
	receiver := fs.String("receiver", "", "the receiver's ID, as given to keyadmin provide (required)")
	by := fs.String("by", "", "who confirmed on the receiver's side (required)")
	ref := fs.String("ref", "", "where the confirmation is found again, such as a ticket (required)")
	note := fs.String("note", "", "note for the audit trail")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	for _, f := range []struct{ name, v string }{{"receiver", *receiver}, {"by", *by}, {"ref", *ref}} {
		if f.v == "" {
			return a.usageError("-" + f.name + " is required")
		}
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	var provided *rollover.CertificateProvided
	switch s := stage.(type) {
	case *rollover.CertificateProvided:
		provided = s
	case *rollover.ReceiversSwitched:
		return a.wrongStage(stage, "every receiver has confirmed already")
	default:
		return a.wrongStage(stage, "receivers confirm after step 3")
	}
	next, err := provided.ConfirmReceiverSwitched(a.ctx, rollover.Confirmation{Receiver: *receiver, By: *by, Reference: *ref, Note: *note})
	if err != nil {
		code := a.fail(err)
		if errors.Is(err, rollover.ErrUnknownReceiver) {
			a.errorf("the certificate was provided to: %s", list(receiverIDs(provided.Report())))
		}
		return code
	}
	a.printf("step 6 recorded: %s encrypts with the new key (confirmed by %s, reference %s)", quote(*receiver), quote(*by), quote(*ref))
	switch s := next.(type) {
	case *rollover.CertificateProvided:
		a.printf("still pending: %s; the old key keeps no expiry until they confirm", list(s.Pending()))
	case *rollover.ReceiversSwitched:
		r := s.Report()
		a.printf("every receiver has confirmed: old key %s is retained until %s (%s)", r.Old.Alias, stamp(s.OldKeyExpires()), a.in(s.OldKeyExpires()))
	}
	a.stageLines(a.printf, next)
	return exitOK
}

func receiverIDs(r rollover.Report) []string {
	ids := make([]string, len(r.Receivers))
	for i, rr := range r.Receivers {
		ids[i] = rr.Receiver.ID
	}
	return ids
}

// cmdRemove is step 7.
func cmdRemove(a *app, args []string) int {
	if code, ok := a.parse(a.flags(), args); !ok {
		return code
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	var switched *rollover.ReceiversSwitched
	switch s := stage.(type) {
	case *rollover.ReceiversSwitched:
		switched = s
	case *rollover.CertificateProvided:
		old := s.Report().Old
		return a.refused(fmt.Sprintf("receivers %s have not confirmed that they encrypt with the new key, so old key %s (%s) has no expiry yet",
			list(s.Pending()), old.Alias, old.Fingerprint.Short()), time.Time{}, a.afterConfirmation())
	default:
		return a.wrongStage(stage, "the old key is removed in step 7, after every receiver confirmed")
	}
	old := switched.Report().Old
	idle, err := switched.RemoveOldKey(a.ctx)
	if err != nil {
		return a.fail(err)
	}
	a.printf("step 7 done: old key %s (%s) removed; renewal %d completed", old.Alias, old.Fingerprint.Short(), idle.Renewal())
	a.printf("current key: %s", a.describe(idle.Report().Current.Alias))
	a.stageLines(a.printf, idle)
	return exitOK
}

// cmdCancel abandons a renewal before step 3.
func cmdCancel(a *app, args []string) int {
	fs := a.flags()
	reason := fs.String("reason", "", "why, for the audit trail (required)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *reason == "" {
		return a.usageError("-reason is required")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	var idle *rollover.Idle
	var err error
	switch s := stage.(type) {
	case *rollover.KeyPairCreated:
		idle, err = s.Cancel(a.ctx, *reason)
	case *rollover.KeyAdded:
		idle, err = s.Cancel(a.ctx, *reason)
	case *rollover.Idle:
		return a.wrongStage(stage, "no renewal is in progress")
	default:
		return a.wrongStage(stage, "the certificate was provided to receivers, who may already encrypt to the new key, so the renewal can no longer be cancelled")
	}
	if err != nil {
		return a.fail(err)
	}
	a.printf("renewal %d cancelled; the new key was removed from the store", idle.Renewal())
	a.printf("current key: %s", a.describe(idle.Report().Current.Alias))
	a.stageLines(a.printf, idle)
	return exitOK
}

// describe describes the store's entry alias in one line.
func (a *app) describe(alias string) string {
	e, err := a.store.Entry(alias)
	if err != nil {
		return alias
	}
	size := ""
	if k, ok := e.Certificate.PublicKey.(*rsa.PublicKey); ok {
		size = fmt.Sprintf(", RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%s (%s)%s, %s, subject %s, certificate valid until %s",
		e.Alias, e.Fingerprint.Short(), size, e.Status, subject(e.Certificate.Subject), stamp(e.Certificate.NotAfter))
}

func subject(n pkix.Name) string { return quote(n.String()) }
