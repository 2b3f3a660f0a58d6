package keystore

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/wsrenew/wsrenew/wssec"
)

// tokenKey is a private key in a PKCS#11 token. It is a crypto.Signer (for
// the self-signed certificate and requests) and a wssec.CapableDecrypter:
// it refuses what the token did not perform when the key was opened.
type tokenKey struct {
	key  TokenKey
	caps tokenCaps
	// uri names the key; its String is the entry's location.
	uri *TokenURI
}

// tokenCaps is what the token performed for a key when it was opened.
type tokenCaps struct {
	// oaep lists the OAEP digests performed, each with MGF1 of the same
	// digest (the only form PKCS#11 wrappers such as crypto11 request).
	oaep []crypto.Hash
	// label says whether the token performs OAEP with a label.
	label bool
	// rsa15 says whether the token performs plain PKCS#1 v1.5 (never with
	// implicit rejection: tokens refuse SessionKeyLen).
	rsa15 bool
}

func (k *tokenKey) Public() crypto.PublicKey { return k.key.Public() }

func (k *tokenKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.key.Sign(r, digest, opts)
}

func (k *tokenKey) Decrypt(r io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return k.key.Decrypt(r, ct, opts)
}

// Refuses reports whether the token refuses to decrypt with opts, as
// found when the key was opened. It performs no token operation.
func (k *tokenKey) Refuses(opts crypto.DecrypterOpts) bool {
	switch o := opts.(type) {
	case *rsa.OAEPOptions:
		if o.MGFHash != 0 && o.MGFHash != o.Hash {
			return true
		}
		if len(o.Label) > 0 && !k.caps.label {
			return true
		}
		return !slices.Contains(k.caps.oaep, o.Hash)
	case *rsa.PKCS1v15DecryptOptions:
		return !k.caps.rsa15 || o.SessionKeyLen != 0
	case nil:
		return !k.caps.rsa15
	}
	return true
}

// probeCapabilities finds which key transports the token performs for
// key: it encrypts a random value to the public key with each OAEP digest
// (MGF1 with the same digest, the only form PKCS#11 wrappers such as
// crypto11 request), with a label, and with PKCS#1 v1.5, and asks the
// token to decrypt each. These are known-answer tests on data of our own
// making, run once when a key is opened, never on a message.
func probeCapabilities(key crypto.Decrypter) (tokenCaps, error) {
	var caps tokenCaps
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return caps, errors.New("not an RSA key")
	}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return caps, err
	}
	oaep := func(o *rsa.OAEPOptions) bool {
		ct, err := rsa.EncryptOAEPWithOptions(rand.Reader, pub, secret, o)
		if err != nil {
			return false
		}
		pt, err := key.Decrypt(rand.Reader, ct, o)
		return err == nil && bytes.Equal(pt, secret)
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if oaep(&rsa.OAEPOptions{Hash: h, MGFHash: h}) {
			caps.oaep = append(caps.oaep, h)
		}
	}
	if len(caps.oaep) > 0 {
		h := caps.oaep[0]
		caps.label = oaep(&rsa.OAEPOptions{Hash: h, MGFHash: h, Label: []byte("wsrenew")})
	}
	//lint:ignore SA1019 probing whether the token still performs RSA-1_5 for receivers that use it.
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret) //nolint:staticcheck
	if err == nil {
		if pt, err := key.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{}); err == nil && bytes.Equal(pt, secret) {
			caps.rsa15 = true
		}
	}
	if len(caps.oaep) == 0 && !caps.rsa15 {
		return caps, errors.New("the token decrypts with neither RSA-OAEP nor PKCS#1 v1.5")
	}
	return caps, nil
}

// selfSign makes the self-signed certificate of a token key, with the
// fields [Generate] gives a key in software.
func selfSign(k crypto.Signer, subject pkix.Name, opts GenerateOptions) (*x509.Certificate, error) {
	validity, err := opts.checkSubject(subject)
	if err != nil {
		return nil, err
	}
	pub, ok := k.Public().(*rsa.PublicKey)
	if !ok {
		return nil, &Error{Reason: "the token key is not RSA", Err: ErrToken}
	}
	tmpl, err := selfSignedTemplate(pub, subject, validity, opts)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(opts.rand(), tmpl, tmpl, pub, k)
	if err != nil {
		return nil, &Error{Reason: "sign the certificate in the token", Err: ErrToken, Cause: err}
	}
	return x509.ParseCertificate(der)
}

// loadTokenKey opens the key of a token entry and checks it against the
// entry's certificate.
func (s *Store) loadTokenKey(e Entry, u *TokenURI) (*Credential, error) {
	k, err := openTokenKey(s.opts.Tokens, u, s.password)
	if err != nil {
		return nil, &EntryError{Alias: e.Alias, Location: e.Location, Err: tokenSentinel(err), Cause: err}
	}
	c := &Credential{Key: k, Certificate: e.Certificate, Chain: e.Chain}
	if err := c.check("token key", weakRSABits); err != nil {
		return nil, &EntryError{Alias: e.Alias, Location: e.Location, Err: ErrCorruptEntry, Cause: err}
	}
	return c, nil
}

// tokenSentinel is the sentinel of err, a *Error, or ErrToken.
func tokenSentinel(err error) error {
	var te *Error
	if errors.As(err, &te) && te.Err != nil {
		return te.Err
	}
	return ErrToken
}

// GenerateTokenCredential creates, with module m, an RSA key pair inside
// the PKCS#11 token that u names, logging in with the PIN from pin, and a
// self-signed certificate for it, signed in the token, as [Generate] does
// in software. If u has no id, a random 16-byte CKA_ID is drawn from
// opts.Rand. Give the credential to [Tx.Add] (or rollover's step 1) of a
// store whose password is the same PIN and whose [Options.Tokens] is m:
// the store keeps the key's URI, never the key. As with [Generate], send
// [Store.CertificateRequest] to a CA and adopt its answer with
// [Tx.SetCertificate], or rotate the self-signed key into the ring.
//
// GenerateTokenCredential returns a [*Error] with [ErrInvalidTokenURI],
// [ErrTokenUnavailable] (a nil m, or a module built without cgo),
// [ErrNoPassword] (an empty PIN) or [ErrToken] (the module, token, PIN or
// key generation failed, or the token already holds a key with that id
// or label); and [ErrInvalidOptions]. It does not modify u.
func GenerateTokenCredential(m TokenModule, u *TokenURI, pin PasswordSource, subject pkix.Name, opts GenerateOptions) (*Credential, error) {
	p, err := pin.password()
	if err != nil {
		return nil, err
	}
	return generateTokenCredential(m, u, p, subject, opts)
}

func generateTokenCredential(m TokenModule, u *TokenURI, pin string, subject pkix.Name, opts GenerateOptions) (*Credential, error) {
	if u == nil {
		return nil, &Error{Reason: "no URI", Err: ErrInvalidTokenURI}
	}
	u = u.clone()
	if len(u.ID) == 0 {
		u.ID = make([]byte, 16)
		if _, err := io.ReadFull(opts.rand(), u.ID); err != nil {
			return nil, fmt.Errorf("keystore: token key id: %w", err)
		}
	}
	if err := u.check(); err != nil {
		return nil, err
	}
	bits, err := opts.bits()
	if err != nil {
		return nil, err
	}
	if len(subject.ToRDNSequence()) == 0 {
		return nil, fmt.Errorf("%w: empty subject", ErrInvalidOptions)
	}
	k, err := generateTokenKey(m, u, pin, bits)
	if err != nil {
		return nil, err
	}
	cert, err := selfSign(k, subject, opts)
	if err != nil {
		return nil, err
	}
	return &Credential{Key: k, Certificate: cert}, nil
}

// OpenTokenCredential opens, with module m, the key pair that u names in
// its PKCS#11 token, logging in with the PIN from pin, and returns it with
// cert and chain as a Credential for [Tx.Add] (or rollover's step 1),
// which stores the key's URI, never the key; use it for a key generated in
// the token by other tools. It returns a [*Error] with [ErrKeyMismatch] if
// cert is not the key's, and those of [GenerateTokenCredential] except key
// generation. It keeps cert and chain.
func OpenTokenCredential(m TokenModule, u *TokenURI, pin PasswordSource, cert *x509.Certificate, chain []*x509.Certificate) (*Credential, error) {
	p, err := pin.password()
	if err != nil {
		return nil, err
	}
	if err := u.check(); err != nil {
		return nil, err
	}
	k, err := openTokenKey(m, u, p)
	if err != nil {
		return nil, err
	}
	c := &Credential{Key: k, Certificate: cert, Chain: chain}
	if err := c.check("token key", weakRSABits); err != nil {
		return nil, err
	}
	return c, nil
}

// tokenLocation is where [Tx.Add] records a credential c whose key k
// lives in a token: nowhere is the key written; the entry's location is
// the key's canonical URI.
func (tx *Tx) tokenLocation(k *tokenKey, c *Credential) (string, error) {
	loc := k.uri.String()
	for _, e := range tx.m.entries {
		if e.Location == loc {
			return "", &EntryError{Alias: e.Alias, Location: loc, Err: ErrDuplicateKey}
		}
	}
	tx.keys[loc] = c
	return loc, nil
}

// rekey records c as the key of alias, whose location is loc: a token
// key stays where it is; a key in a file is written to a new file.
func (tx *Tx) rekey(alias, loc string, c *Credential) (string, error) {
	if _, ok := tokenOfLocation(loc); ok {
		tx.keys[loc] = c
		return loc, nil
	}
	return tx.writeKey(alias, c)
}

// CheckTransport reports whether the key of alias can decrypt what a
// sender using t encrypts: a key in a file performs every key transport,
// a token key what the token performed when it was opened. It returns
// nil, the error of [wssec.TransportParams.Check] (a [*wssec.KeyError]
// for [wssec.ErrKeyCapability]), or an [*EntryError] with
// [ErrUnknownAlias]. It performs no private-key operation.
func (s *Store) CheckTransport(alias string, t wssec.TransportParams) error {
	_, c, err := s.view().entryKey(alias)
	if err != nil {
		return err
	}
	return t.Check(c.Key)
}
