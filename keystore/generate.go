package keystore

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"
)

// GenerateOptions configures [Generate] and [GenerateTokenCredential]. The zero
// value is the default.
type GenerateOptions struct {
	// Bits is the RSA key size: 2048, 3072 or 4096. If zero, 3072. Other
	// values are refused with [ErrInvalidOptions].
	Bits int

	// Validity is how long the self-signed certificate is valid, from the
	// clock's time on. If zero, 730 days. Negative values are refused.
	Validity time.Duration

	// Now is the clock for the certificate's validity. If nil, time.Now;
	// pass the store's clock ([Options.Now]) when the key goes into one.
	Now func() time.Time

	// Rand is the source of the certificate's serial number. If nil,
	// crypto/rand.Reader. The key
	// itself always comes from the operating system's generator.
	Rand io.Reader
}

func (o *GenerateOptions) bits() (int, error) {
	switch o.Bits {
	case 0:
		return 3072, nil
	case 2048, 3072, 4096:
		return o.Bits, nil
	}
	return 0, fmt.Errorf("%w: Bits %d (want 2048, 3072 or 4096)", ErrInvalidOptions, o.Bits)
}

func (o *GenerateOptions) validity() (time.Duration, error) {
	switch {
	case o.Validity == 0:
		return 730 * 24 * time.Hour, nil
	case o.Validity < 0:
		return 0, fmt.Errorf("%w: negative Validity", ErrInvalidOptions)
	}
	return o.Validity, nil
}

func (o *GenerateOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o *GenerateOptions) rand() io.Reader {
	if o.Rand == nil {
		return rand.Reader
	}
	return o.Rand
}

// Generate creates an RSA key pair and a self-signed certificate for it,
// with the given subject, a random 127-bit serial number, a
// SubjectKeyIdentifier (the SHA-1 of the public key, RFC 5280 4.2.1.2) and
// the key usage keyEncipherment, which is what a receiver needs to
// encrypt to it. To have a CA sign the key instead, add it to a store and
// use [Store.CertificateRequest].
//
// Generating a key takes from a fraction of a second (2048 bits) to
// several seconds (4096 bits). Generate returns [ErrInvalidOptions] for
// bad options or an empty subject, and errors reading opts.Rand. It is
// safe for concurrent use.
func Generate(subject pkix.Name, opts GenerateOptions) (*Credential, error) {
	bits, err := opts.bits()
	if err != nil {
		return nil, err
	}
	validity, err := opts.checkSubject(subject)
	if err != nil {
		return nil, err
	}
	// Since Go 1.26 rsa.GenerateKey ignores its reader and uses the
	// system's generator; rand.Reader says so plainly.
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("keystore: generate key: %w", err)
	}
	tmpl, err := selfSignedTemplate(&key.PublicKey, subject, validity, opts)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(opts.rand(), tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("keystore: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("keystore: parse generated certificate: %w", err)
	}
	return &Credential{Key: key, Certificate: cert}, nil
}

// checkSubject checks the options and subject of a new self-signed
// certificate and returns its validity.
func (o GenerateOptions) checkSubject(subject pkix.Name) (time.Duration, error) {
	validity, err := o.validity()
	if err != nil {
		return 0, err
	}
	if len(subject.ToRDNSequence()) == 0 {
		return 0, fmt.Errorf("%w: empty subject", ErrInvalidOptions)
	}
	return validity, nil
}

// selfSignedTemplate is the certificate of a new key pair before it is
// signed: a random serial, the key's subject key identifier, valid for
// validity from now by opts' clock, for key encipherment.
func selfSignedTemplate(pub *rsa.PublicKey, subject pkix.Name, validity time.Duration, opts GenerateOptions) (*x509.Certificate, error) {
	serial, err := randomSerial(opts.rand())
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	notBefore := opts.now().UTC().Truncate(time.Second)
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
	}, nil
}

// randomSerial returns a positive serial number of up to 127 bits.
func randomSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("keystore: serial number: %w", err)
	}
	b[0] &= 0x7f
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n, nil
}

// subjectKeyID is the SHA-1 of the subjectPublicKey BIT STRING (RFC 5280,
// 4.2.1.2, method 1), the value senders compute for a certificate that
// lacks the extension.
func subjectKeyID(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return h[:], nil
}

// oidExtensionKeyUsage is id-ce-keyUsage (RFC 5280, 4.2.1.3).
var oidExtensionKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// createCertificateRequest returns a PEM certificate signing request
// ("CERTIFICATE REQUEST", PKCS#10) for c's key with the subject of c's
// certificate, asking for the key usage keyEncipherment. A CA signs it;
// the signed certificate goes back onto the key with [Tx.SetCertificate].
//
// createCertificateRequest returns [ErrMalformed], [ErrUnsupportedKey]
// (also for a key that cannot sign) or [ErrKeyMismatch] if c is not a
// usable credential. It does not modify c.
func createCertificateRequest(c *Credential) ([]byte, error) {
	if err := c.check("credential", minRSABits); err != nil {
		return nil, err
	}
	// keyEncipherment is bit 2 of the KeyUsage BIT STRING.
	ku, err := asn1.Marshal(asn1.BitString{Bytes: []byte{0x20}, BitLength: 3})
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	tmpl := &x509.CertificateRequest{
		RawSubject:      c.Certificate.RawSubject,
		ExtraExtensions: []pkix.Extension{{Id: oidExtensionKeyUsage, Critical: true, Value: ku}},
	}
	// Signing with RSA PKCS #1 v1.5 draws no randomness.
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, c.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificateRequest, Bytes: der}), nil
}
