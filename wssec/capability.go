package wssec

import (
	"crypto"
	"crypto/rsa"
	"io"

	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// CapableDecrypter is a crypto.Decrypter that says which decryptions it
// refuses. Keys in software perform every key transport; a key in an HSM
// often performs fewer (a PKCS#11 module may offer OAEP with SHA-1 only,
// tie MGF1 to the OAEP digest, or refuse an OAEP label). A Key's
// Decrypter that does not implement it is taken to refuse nothing.
//
// Refuses is asked with the options the key would be given: an
// *rsa.OAEPOptions (Hash, MGFHash and Label as the message names them) or
// an *rsa.PKCS1v15DecryptOptions. For RSA-1_5 it is asked first with a
// non-zero SessionKeyLen: a key that refuses that but accepts a zero
// SessionKeyLen reports padding errors instead of returning a random key
// (crypto11 and PKCS#11 tokens), and the random key is then substituted
// here, so implicit rejection holds for it too. Whether the token's answer
// takes longer for bad padding is beyond this package's control.
//
// A message whose key transport the chosen key refuses is refused with a
// [*KeyError] for [ErrKeyCapability] before the key is used. The decision
// depends on the message and the ring only, not on any private-key
// operation, so it tells a sender nothing it did not know. Refuses must
// not perform a private-key operation either.
type CapableDecrypter interface {
	crypto.Decrypter
	Refuses(opts crypto.DecrypterOpts) bool
}

// refuses reports whether d refuses opts: false for a Decrypter that is
// not a [CapableDecrypter].
func refuses(d crypto.Decrypter, opts crypto.DecrypterOpts) bool {
	c, ok := d.(CapableDecrypter)
	return ok && c.Refuses(opts)
}

// rsa15Probe is the SessionKeyLen asked about when the length of the key
// to unwrap does not matter: any non-zero length asks for implicit
// rejection.
const rsa15Probe = 32

// TransportParams is a key transport as a sender performs it: the
// fields of [Encryptor] that choose it, with the same defaults (an empty
// KeyTransport is [RSAOAEP] with SHA-256 and MGF1-SHA1; [RSAOAEPMGF1P]
// defaults to SHA-1).
type TransportParams struct {
	KeyTransport KeyTransport
	OAEPDigest   crypto.Hash
	MGF          crypto.Hash
}

// Check reports whether the key d can decrypt what a sender using t
// encrypts. It returns nil, a [*KeyError] for [ErrKeyCapability] saying
// what the key cannot do, or [ErrInvalidPolicy] when t itself is invalid.
// It performs no private-key operation.
func (t TransportParams) Check(d crypto.Decrypter) error {
	e := Encryptor{KeyTransport: t.KeyTransport, OAEPDigest: t.OAEPDigest, MGF: t.MGF}
	kt, p, err := e.keyTransport()
	if err != nil {
		return err
	}
	if err := checkCapability(d, kt, p); err != nil {
		return err
	}
	return nil
}

// checkCapability is Check for a resolved key transport. It returns a
// *KeyError or nil (never a typed nil).
func checkCapability(d crypto.Decrypter, kt string, p xmlenc.OAEPParams) *KeyError {
	if kt == xmlenc.RSA15 {
		if refuses(d, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: rsa15Probe}) && refuses(d, &rsa.PKCS1v15DecryptOptions{}) {
			return capabilityRefused(kt, p.Digest, p.MGF, "the key cannot perform RSA-1_5")
		}
		return nil
	}
	if !refuses(d, &rsa.OAEPOptions{Hash: p.Digest, MGFHash: p.MGF, Label: p.Label}) {
		return nil
	}
	if len(p.Label) > 0 && !refuses(d, &rsa.OAEPOptions{Hash: p.Digest, MGFHash: p.MGF}) {
		return capabilityRefused(kt, p.Digest, p.MGF, "the key cannot perform OAEP with a label")
	}
	return capabilityRefused(kt, p.Digest, p.MGF, "the key cannot perform OAEP with this digest and MGF1 hash")
}

// capableCandidates keeps, of the ring keys kp would try, those that can
// perform kp's key transport, in their order. With none left it returns
// the [*KeyError] of the first. The decision uses the message and
// the ring only, before any private-key operation.
func (p *process) capableCandidates(kp *keyPlan) error {
	var first *KeyError
	var keep []*ringEntry
	for _, e := range kp.cands {
		ke := checkCapability(e.key.Decrypter, kp.alg, kp.oaep)
		if ke == nil {
			keep = append(keep, e)
			continue
		}
		if first == nil {
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
// d refuses a SessionKeyLen (it reports padding errors instead).
func decryptKeyPKCS1v15(d crypto.Decrypter, rand io.Reader, ciphertext []byte, keyLen int) ([]byte, error) {
	if refuses(d, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}) {
		return xmlenc.DecryptKeyPKCS1v15Plain(d, rand, ciphertext, keyLen)
	}
	return xmlenc.DecryptKeyPKCS1v15(d, rand, ciphertext, keyLen)
}
