package wssec

import (
	"crypto"
	"io"

	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// Capabilities says which key transports a key can perform. Keys in
// software perform all of them; a key in an HSM often performs fewer (a
// PKCS#11 module may offer OAEP with SHA-1 only, or tie MGF1 to the OAEP
// digest). The zero value means every key transport this package
// supports, with implicit rejection for RSA-1_5.
//
// A message whose key transport the chosen key cannot perform is refused
// with a [*KeyError] for [ErrKeyCapability] before the key is used. The decision depends
// on the message and the ring only, not on any private-key operation, so
// it tells a sender nothing it did not know.
type Capabilities struct {
	// OAEP lists the OAEP parameter sets the key performs. Nil means every
	// digest and MGF1 hash this package supports.
	OAEP []OAEPParameters
	// NoOAEPLabel means that the key refuses an OAEP label (the
	// xenc:OAEPparams element).
	NoOAEPLabel bool
	// RSA15 says how the key performs RSA-1_5 (PKCS#1 v1.5).
	RSA15 RSA15Support
}

// OAEPParameters is one combination of OAEP digest and MGF1 hash.
type OAEPParameters struct {
	Digest crypto.Hash
	MGF    crypto.Hash
}

// RSA15Support says how a key performs RSA-1_5 decryption.
type RSA15Support int

const (
	// RSA15ImplicitRejection means that the Decrypter honours
	// rsa.PKCS1v15DecryptOptions.SessionKeyLen: on a padding error it
	// returns a random key itself, as *rsa.PrivateKey does, in constant
	// time.
	RSA15ImplicitRejection RSA15Support = iota
	// RSA15Plain means that the Decrypter refuses SessionKeyLen and
	// reports a padding error as an error (crypto11 and PKCS#11 tokens).
	// The Decryptor then asks for plain PKCS#1 v1.5 and substitutes a
	// random key itself on error, so the message still fails only later,
	// as [ErrDecryptionFailed]. Whether the token's answer takes longer
	// for bad padding is beyond this package's control.
	RSA15Plain
	// RSA15Unsupported means that the key cannot perform RSA-1_5 at all.
	RSA15Unsupported
)

// CapableDecrypter is a crypto.Decrypter that says which key transports
// it can perform. A Key's Decrypter that does not implement it is taken
// to perform all of them: its Capabilities are the zero value.
type CapableDecrypter interface {
	crypto.Decrypter
	Capabilities() Capabilities
}

// capabilitiesOf returns the Capabilities of d: those it reports if it is
// a [CapableDecrypter], the zero value (everything) otherwise. A nil d
// gives the zero value.
func capabilitiesOf(d crypto.Decrypter) Capabilities {
	if c, ok := d.(CapableDecrypter); ok {
		return c.Capabilities()
	}
	return Capabilities{}
}

// TransportParams is a key transport as a sender performs it: the
// fields of [Encryptor] that choose it, with the same defaults (an empty
// KeyTransport is [RSAOAEP] with SHA-256 and MGF1-SHA1; [RSAOAEPMGF1P]
// defaults to SHA-1).
type TransportParams struct {
	KeyTransport KeyTransport
	OAEPDigest   crypto.Hash
	MGF          crypto.Hash
}

// Check reports whether a key with capabilities c can decrypt what a
// sender using t encrypts. It returns nil, a [*KeyError] for
// [ErrKeyCapability] saying what the key cannot do, or
// [ErrInvalidPolicy] when t itself is invalid. It does not modify its
// arguments.
func (c Capabilities) Check(t TransportParams) error {
	e := Encryptor{KeyTransport: t.KeyTransport, OAEPDigest: t.OAEPDigest, MGF: t.MGF}
	kt, p, err := e.keyTransport()
	if err != nil {
		return err
	}
	return c.check(kt, p)
}

// check is Check for a resolved key transport.
func (c Capabilities) check(kt string, p xmlenc.OAEPParams) error {
	fail := func(reason string) error {
		return capabilityRefused(kt, p.Digest, p.MGF, reason)
	}
	if kt == xmlenc.RSA15 {
		if c.RSA15 == RSA15Unsupported {
			return fail("the key cannot perform RSA-1_5")
		}
		return nil
	}
	if len(p.Label) > 0 && c.NoOAEPLabel {
		return fail("the key cannot perform OAEP with a label")
	}
	if c.OAEP == nil {
		return nil
	}
	for _, o := range c.OAEP {
		if o.Digest == p.Digest && o.MGF == p.MGF {
			return nil
		}
	}
	return fail("the key cannot perform OAEP with this digest and MGF1 hash")
}

// capableCandidates keeps, of the ring keys kp would try, those that can
// perform kp's key transport, in their order. With none left it returns
// the [*KeyError] of the first. The decision uses the message and
// the ring only, before any private-key operation.
func (p *process) capableCandidates(kp *keyPlan) error {
	var first error
	var keep []*ringEntry
	for _, e := range kp.cands {
		err := capabilitiesOf(e.key.Decrypter).check(kp.alg, kp.oaep)
		if err == nil {
			keep = append(keep, e)
			continue
		}
		if first == nil {
			ke := err.(*KeyError)
			ke.Fingerprint = e.fp
			first = ke
		}
	}
	if len(keep) == 0 && first != nil {
		return first
	}
	if len(keep) < len(kp.cands) {
		// A fresh slice: kp.cands may share the snapshot's array.
		kp.cands = keep
	}
	return nil
}

// decryptKeyPKCS1v15 unwraps an RSA-1_5 key with implicit rejection,
// asking d for it where d can, and substituting the random key here where
// d reports padding errors instead ([RSA15Plain]).
func decryptKeyPKCS1v15(d crypto.Decrypter, rand io.Reader, ciphertext []byte, keyLen int) ([]byte, error) {
	if capabilitiesOf(d).RSA15 == RSA15Plain {
		return xmlenc.DecryptKeyPKCS1v15Plain(d, rand, ciphertext, keyLen)
	}
	return xmlenc.DecryptKeyPKCS1v15(d, rand, ciphertext, keyLen)
}
