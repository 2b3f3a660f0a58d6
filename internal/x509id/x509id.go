// Package x509id derives the identifiers WS-Security references name a
// certificate by that crypto/x509 does not compute itself: the
// X509SubjectKeyIdentifier value. The key ring looks certificates up by
// it and the renewal procedure hands it to receivers, so both take it
// from here.
package x509id

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
)

// SubjectKeyID returns the value a WS-Security X509SubjectKeyIdentifier
// reference carries for cert, as an encryptor writes it: the
// certificate's SubjectKeyIdentifier extension, or, for a certificate
// without one, the SHA-1 of its public key bits (RFC 5280, 4.2.1.2,
// method 1). It returns nil if there is neither, or for a nil cert.
func SubjectKeyID(cert *x509.Certificate) []byte {
	if ids := SubjectKeyIDs(cert); len(ids) > 0 {
		return ids[0]
	}
	return nil
}

// SubjectKeyIDs returns every value a sender may put in an
// X509SubjectKeyIdentifier reference to cert: the SubjectKeyIdentifier
// extension, if any, first, then the SHA-1 of the public key bits (RFC
// 5280, 4.2.1.2, method 1) if it differs, which senders compute when the
// extension is absent. It returns nil for a nil cert.
func SubjectKeyIDs(cert *x509.Certificate) [][]byte {
	if cert == nil {
		return nil
	}
	var out [][]byte
	if len(cert.SubjectKeyId) > 0 {
		out = append(out, cert.SubjectKeyId)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err == nil {
		h := sha1.Sum(spki.PublicKey.Bytes)
		if len(out) == 0 || string(out[0]) != string(h[:]) {
			out = append(out, h[:])
		}
	}
	return out
}
