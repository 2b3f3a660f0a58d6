package keystore

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
)

// ExportCertificate returns the certificate of the entry alias for a
// receiver, as a copy the caller may keep. Its forms for a partner's
// administrator derive from it: the DER encoding is Raw, the PEM block
// [encoding/pem.EncodeToMemory] with type "CERTIFICATE", the fingerprint
// [github.com/wsrenew/wsrenew/wssec.FingerprintOf]. Only keys in the key ring (current or retained) can be
// exported: a receiver must never be told to encrypt to a key that cannot
// decrypt yet. And only keys whose hand-out the store recorded
// ([Entry.Provided], set by [Tx.MarkProvided] or when the key became
// current first or was replaced as current): a certificate that leaves
// the store unrecorded would let [Tx.Remove] delete a key a receiver may
// encrypt to. It returns an [*EntryError] with [ErrUnknownAlias] or
// [ErrNotProvided], and an [*EntryError] for [ErrStatus] for a pending entry.
func (s *Store) ExportCertificate(alias string) (*x509.Certificate, error) {
	e, err := s.View().Entry(alias)
	if err != nil {
		return nil, err
	}
	if !e.Status.inRing() {
		return nil, statusError(alias, e.Status, "ExportCertificate")
	}
	if !e.provided() {
		return nil, &EntryError{Alias: alias, Err: ErrNotProvided, Cause: errors.New("record the hand-out with Tx.MarkProvided first")}
	}
	return copyCertificate(e.Certificate)
}

// copyCertificate parses a copy of c's encoding (ParseCertificate keeps
// the slice it is given), so that a caller changing the
// returned value cannot change the store's.
func copyCertificate(c *x509.Certificate) (*x509.Certificate, error) {
	return x509.ParseCertificate(bytes.Clone(c.Raw))
}

// ExportPKCS12 returns the entry alias — key, certificate and chain — as a
// PKCS#12 file encrypted with password, written with go-pkcs12's modern
// encoder (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA-256; HMAC-SHA-256 MAC),
// which OpenSSL 1.1.1+, Java 12+ and Windows Server 2019+ read. It uses the
// store's Rand.
//
// ExportPKCS12 returns [ErrNoPassword] for an empty password, an
// [*EntryError] with [ErrUnknownAlias], and [ErrUnsupportedKey] if the
// key cannot be written to a file.
func (s *Store) ExportPKCS12(alias, password string) ([]byte, error) {
	if password == "" {
		return nil, fmt.Errorf("%w: empty export password", ErrNoPassword)
	}
	_, c, err := s.view().entryKey(alias)
	if err != nil {
		return nil, err
	}
	return encodePKCS12(c, password, s.opts.rand())
}

// CertificateRequest returns a PEM certificate signing request
// ("CERTIFICATE REQUEST", PKCS#10) for the key of the entry alias, with
// the subject of its certificate, asking for the key usage
// keyEncipherment. A CA signs it; the signed certificate goes back onto
// the key with [Tx.SetCertificate]. It returns an [*EntryError] with
// [ErrUnknownAlias], and [ErrUnsupportedKey] for a key that cannot sign
// or is under 2048 bits.
func (s *Store) CertificateRequest(alias string) ([]byte, error) {
	_, c, err := s.view().entryKey(alias)
	if err != nil {
		return nil, err
	}
	return createCertificateRequest(c)
}
