package wssec

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

// TrustRing holds the certificates whose signatures a [Decryptor] accepts:
// a partner's current signing certificate and the ones it used before,
// retained until an expiry. It is the mirror of [KeyRing], because partners
// renew their signing keys too: their new certificate is added before they
// switch, and the old one removed only after the messages it signed can no
// longer arrive. The same rules hold: exactly one current certificate, no
// expiry on it, no removal of a retained certificate before its expiry or
// while it has none.
//
// Trust ends at whichever comes first:
//
//   - a retained certificate's expiry: from the instant given to
//     [TrustRing.Retain] or [TrustRing.SetExpiry] on, signatures by it are
//     [ErrUntrustedSigner], although it stays listed until
//     [TrustRing.Remove];
//   - the certificate's own NotAfter: a certificate past its NotAfter is
//     not trusted, current or retained, pinned or chained to
//     Policy.SignerRoots, as WSS4J refuses an expired signing certificate.
//     A ring expiry never extends a certificate's life. A pinned
//     certificate's NotBefore is not checked: adding it to the ring is the
//     decision to trust it, typically before the partner switches to it.
//     Certificates found through SignerRoots must be within both dates.
//
// Both are decided with the ring's clock ([RingOptions.Now]), the same
// clock that checks the message's wsu:Timestamp.
//
// A TrustRing is safe for concurrent use; verification reads an immutable
// snapshot, like decryption does from a KeyRing.
type TrustRing struct {
	r KeyRing
}

// NewTrustRing returns a trust ring whose current certificate is current.
// It returns [ErrInvalidKey] (as a [*KeyError]) if the certificate cannot
// verify signatures: nil, or a key that is neither RSA of at least 2048
// bits nor ECDSA on P-256, P-384 or P-521. The clock in opts also decides
// whether a message's wsu:Timestamp is current; the zero [RingOptions]
// uses time.Now. With [RingOptions.Publish] the trust ring is read-only
// like a published key ring; replace takes certificates as Keys without
// a Decrypter.
func NewTrustRing(current *x509.Certificate, opts RingOptions) (*TrustRing, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	t := &TrustRing{r: KeyRing{now: now, certOnly: true, allowWeakRetained: opts.AllowWeakRetainedKey}}
	e, err := t.r.newEntry(Key{Certificate: current}, StatusCurrent, time.Time{})
	if err != nil {
		return nil, err
	}
	s, err := buildSnapshot([]*ringEntry{e})
	if err != nil {
		return nil, err
	}
	t.r.snap.Store(s)
	t.r.publish(opts)
	return t, nil
}

// Retain adds cert as a retained certificate, accepted until until (zero:
// no expiry yet), exclusive: from until on, signatures by cert are
// [ErrUntrustedSigner]. It returns [ErrInvalidKey] or [ErrDuplicateKey].
func (t *TrustRing) Retain(cert *x509.Certificate, until time.Time) error {
	return t.ring().Retain(Key{Certificate: cert}, until)
}

// Rotate makes next the current certificate; the previous one stays,
// retained with no expiry. A retained certificate can be promoted back.
func (t *TrustRing) Rotate(next *x509.Certificate) error {
	return t.ring().Rotate(Key{Certificate: next})
}

// SetExpiry sets when the retained certificate cert stops being trusted
// and may be removed; see [KeyRing.SetExpiry].
func (t *TrustRing) SetExpiry(cert *x509.Certificate, until time.Time) error {
	return t.ring().SetExpiry(cert, until)
}

// Remove removes the retained certificate cert, refused with
// [ErrRetentionNotElapsed] before its expiry or while it has none; see
// [KeyRing.Remove].
func (t *TrustRing) Remove(cert *x509.Certificate) error {
	return t.ring().Remove(cert)
}

// Snapshot lists the certificates with their status, expiry and usage
// (how many messages each verified, and when last).
func (t *TrustRing) Snapshot() []Entry { return t.ring().Snapshot() }

func (t *TrustRing) ring() *KeyRing {
	if t == nil {
		return nil
	}
	return &t.r
}

// live returns the snapshot a verification at now uses: the ring without
// the retained certificates whose expiry has passed and without the
// certificates past their NotAfter. It is the published snapshot itself
// when nothing is left out, as is usual.
func (t *TrustRing) live(now time.Time) *ringSnapshot {
	s := t.ring().load()
	var keep []*ringEntry
	for i, e := range s.entries {
		if trustedAt(e, now) {
			if keep != nil {
				keep = append(keep, e)
			}
			continue
		}
		if keep == nil {
			keep = append(make([]*ringEntry, 0, len(s.entries)), s.entries[:i]...)
		}
	}
	if keep == nil {
		return s
	}
	ls, err := indexEntries(keep)
	if err != nil { // a subset of a valid ring is valid
		return mustSnapshot(nil)
	}
	return ls
}

// trustedAt reports whether e may verify a signature at now: before its
// expiry (ring expiry is exclusive, as for [KeyRing.Remove]) and not past
// its certificate's NotAfter.
func trustedAt(e *ringEntry, now time.Time) bool {
	if !e.expires.IsZero() && !now.Before(e.expires) {
		return false
	}
	return !now.After(e.key.Certificate.NotAfter)
}

// validateSigner checks that cert can verify the signatures this package
// accepts. It returns the RSA public key, or nil for ECDSA.
func validateSigner(cert *x509.Certificate) (*rsa.PublicKey, error) {
	return validateSignerBits(cert, minRSABits)
}

// validateSignerBits is validateSigner with minBits for an RSA key.
func validateSignerBits(cert *x509.Certificate, minBits int) (*rsa.PublicKey, error) {
	fp := FingerprintOf(cert)
	fail := func(reason string) (*rsa.PublicKey, error) {
		return nil, &KeyError{Fingerprint: fp, Reason: reason, Err: ErrInvalidKey}
	}
	if cert == nil {
		return fail("no certificate")
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minBits {
			return fail(fmt.Sprintf("RSA signing key of %d bits, shorter than %d", pub.N.BitLen(), minBits))
		}
		return pub, nil
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil, nil
		}
		return fail("unsupported elliptic curve")
	}
	return fail("certificate key is neither RSA nor ECDSA")
}
