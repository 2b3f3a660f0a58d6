package main

import (
	"crypto"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"strings"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// pkcs11Usage describes the -pkcs11 flag.
const pkcs11Usage = "keep the private key in a PKCS#11 token: an RFC 7512 URI such as " +
	"'pkcs11:token=LABEL;object=NAME?module-path=/usr/lib/softhsm/libsofthsm2.so'; " +
	"the token's user PIN is the store password"

// storeOptions are the options of every store keyadmin opens: its clock,
// and the PKCS#11 module for keys in tokens.
func (a *app) storeOptions() keystore.Options {
	return keystore.Options{Now: a.now, Tokens: pkcs11.Module{}}
}

// createInToken is step 1 with a key pair generated inside a token.
func (a *app) createInToken(req rollover.KeyRequest, uri string) int {
	u, err := keystore.ParseTokenURI(uri)
	if err != nil {
		return a.usageError("-pkcs11: " + err.Error())
	}
	pw, msg := a.password()
	if msg != "" {
		return a.usageError(msg)
	}
	idle, code, ok := a.idle()
	if !ok {
		return code
	}
	subject := req.Subject
	if len(subject.ToRDNSequence()) == 0 {
		subject = currentSubject(a.store)
	}
	bits := req.Bits
	cred, err := keystore.GenerateTokenCredential(pkcs11.Module{}, u, pw, subject, keystore.GenerateOptions{Bits: bits, Validity: req.Validity, Now: a.now})
	if err != nil {
		return a.fail(err)
	}
	created, err := idle.CreateKeyPair(a.ctx, rollover.KeyRequest{Alias: req.Alias, Credential: cred})
	if err != nil {
		return a.fail(err)
	}
	a.printf("step 1 done: generated key pair %s in the PKCS#11 token; it is pending, not in the key ring yet", req.Alias)
	a.printf("new key: %s", a.describe(req.Alias))
	a.printf("key in: %s", a.keyIn(req.Alias))
	a.stageLines(a.printf, created)
	return exitOK
}

// importFromToken is step 1 with a key pair already in a token, whose
// certificate comes from src's -cert file.
func (a *app) importFromToken(alias, uri string, src *source) int {
	u, err := keystore.ParseTokenURI(uri)
	if err != nil {
		return a.usageError("-pkcs11: " + err.Error())
	}
	if src.cert == "" || src.key != "" || src.pkcs12 != "" {
		return a.usageError("-pkcs11 takes the key's certificate with -cert FILE, and no -key or -pkcs12")
	}
	data, err := readInput(src.cert)
	if err != nil {
		return a.fail(err)
	}
	certs, err := keystore.ParseCertificates(data)
	if err != nil {
		return a.fail(err)
	}
	pw, msg := a.password()
	if msg != "" {
		return a.usageError(msg)
	}
	idle, code, ok := a.idle()
	if !ok {
		return code
	}
	cred, err := keystore.OpenTokenCredential(pkcs11.Module{}, u, pw, certs[0], certs[1:])
	if err != nil {
		return a.fail(err)
	}
	created, err := idle.CreateKeyPair(a.ctx, rollover.KeyRequest{Alias: alias, Credential: cred})
	if err != nil {
		return a.fail(err)
	}
	a.printf("step 1 done: imported key pair %s from the PKCS#11 token; it is pending, not in the key ring yet", alias)
	a.printf("new key: %s", a.describe(alias))
	a.printf("key in: %s", a.keyIn(alias))
	a.stageLines(a.printf, created)
	return exitOK
}

// currentSubject is the subject of the store's current key, the default
// of a renewed key.
func currentSubject(s *keystore.Store) pkix.Name {
	for _, e := range s.View().Entries() {
		if e.Status == keystore.StatusCurrent {
			return e.Certificate.Subject
		}
	}
	return pkix.Name{}
}

// cmdShow describes one key: where it lives and what it can decrypt.
func cmdShow(a *app, args []string) int {
	fs := a.flags()
	alias := fs.String("alias", "", "alias of the key (required)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *alias == "" {
		return a.usageError("-alias is required")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	if _, err := a.store.View().Entry(*alias); err != nil {
		return a.fail(err)
	}
	a.printf("key: %s", a.describe(*alias))
	a.printf("key in: %s", a.keyIn(*alias))
	a.printf("decrypts: %s", a.describeTransports(*alias))
	return exitOK
}

// keyIn says where the key of alias lives.
func (a *app) keyIn(alias string) string {
	e, err := a.store.View().Entry(alias)
	if err != nil {
		return "?"
	}
	if u, err := keystore.ParseTokenURI(e.Location); err == nil {
		return "PKCS#11 token " + quote(u.Token+u.Serial) + ", " + quote(u.String())
	}
	return "a PKCS#12 file of the store"
}

// keyInShort is the KEY IN column of status.
func keyInShort(e keystore.Entry) string {
	if u, err := keystore.ParseTokenURI(e.Location); err == nil {
		return "token " + quote(u.Token+u.Serial)
	}
	return "file"
}

// describeTransports lists, by their -transport names, the key
// transports the key of alias performs.
func (a *app) describeTransports(alias string) string {
	var names []string
	for name, t := range transportNames {
		if a.store.CheckTransport(alias, t) == nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// transportNames are the key transports -transport accepts.
var transportNames = map[string]wssec.TransportParams{
	"rsa-oaep":        {KeyTransport: wssec.RSAOAEP},
	"rsa-oaep-sha1":   {KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1},
	"rsa-oaep-sha256": {KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA256},
	"rsa-oaep-sha512": {KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA512},
	"rsa-oaep-mgf1p":  {KeyTransport: wssec.RSAOAEPMGF1P},
	"rsa-1_5":         {KeyTransport: wssec.RSA15},
}

// transportFlags collects -transport ID=ALGORITHM.
type transportFlags map[string]wssec.TransportParams

func (t *transportFlags) String() string { return "" }

func (t *transportFlags) Set(v string) error {
	id, name, ok := strings.Cut(v, "=")
	p, known := transportNames[name]
	if !ok || id == "" || !known {
		names := make([]string, 0, len(transportNames))
		for n := range transportNames {
			names = append(names, n)
		}
		slices.Sort(names)
		return fmt.Errorf("want ID=ALGORITHM, ALGORITHM one of %s", strings.Join(names, ", "))
	}
	if *t == nil {
		*t = transportFlags{}
	}
	(*t)[id] = p
	return nil
}

// apply sets each receiver's key transport; it names a -transport for a
// receiver not given.
func (t transportFlags) apply(rs []rollover.Receiver) string {
	for id, p := range t {
		found := false
		for i := range rs {
			if rs[i].ID == id {
				rs[i].Transport, found = p, true
			}
		}
		if !found {
			return "-transport names " + quote(id) + ", which is not a -receiver"
		}
	}
	return ""
}
