package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"

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

// cmdCreate is step 1 with a generated key pair.
func cmdCreate(a *app, args []string) int {
	k, _, fs := a.keyFlags(false)
	token := fs.String("pkcs11", "", pkcs11Usage)
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	req, msg := a.request(k)
	if msg != "" {
		return a.usageError(msg)
	}
	if *token != "" {
		return a.createInToken(req, *token)
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
	token := fs.String("pkcs11", "", pkcs11Usage+"; give the key's certificate with -cert")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *alias == "" {
		return a.usageError("-alias is required")
	}
	if *token != "" {
		return a.importFromToken(*alias, *token, &src)
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
	created, err := idle.CreateKeyPair(a.ctx, rollover.KeyRequest{Alias: *alias, Credential: cred})
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
		why := "csr and adopt belong to step 1, before keyadmin add"
		if a.cmd == "add" {
			why = "add is step 2: it makes the key created in step 1 current"
		}
		return nil, a.wrongStage(stage, why), false
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
	e, err := a.store.View().Entry(alias)
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

// describe describes the store's entry alias in one line.
func (a *app) describe(alias string) string {
	e, err := a.store.View().Entry(alias)
	if err != nil {
		return alias
	}
	size := ""
	if k, ok := e.Certificate.PublicKey.(*rsa.PublicKey); ok {
		size = fmt.Sprintf(", RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%s (%s)%s, %s, subject %s, certificate valid until %s",
		e.Alias, e.Fingerprint.String(), size, e.Status, subject(e.Certificate.Subject), stamp(e.Certificate.NotAfter))
}

func subject(n pkix.Name) string { return quote(n.String()) }
