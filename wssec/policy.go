package wssec

import (
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"crypto/rand"

	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// Policy configures a [Decryptor]. The zero value is the secure default:
// RSA-OAEP key transport, AES-GCM and AES-CBC data encryption, encryption
// of the Body required, and the limits documented on each field. Weaker
// choices are opt-in fields named for their danger.
//
// A Policy must not be modified while a Decryptor that holds it is in use.
type Policy struct {
	// KeyTransports lists the key transport algorithms accepted. If nil,
	// every [KeyTransport] constant, with [RSA15] only if AllowRSA15 is set.
	// [RSA15] may appear only with AllowRSA15.
	KeyTransports []KeyTransport

	// DataEncryptions lists the data encryption algorithms accepted. If
	// nil, every [DataEncryption] constant, with [TripleDESCBC] only if
	// AllowTripleDES is set. [TripleDESCBC] may appear only with
	// AllowTripleDES.
	DataEncryptions []DataEncryption

	// AllowRSA15 accepts RSAES-PKCS1-v1_5 key transport, which is open to
	// Bleichenbacher-style padding-oracle attacks. When allowed it is
	// processed with implicit rejection: a padding failure yields a random
	// key, so the message fails later with the same ErrDecryptionFailed as
	// any other corruption. For the same reason an RSA-1_5 EncryptedKey
	// without a key reference is never tried key after key: with one ring
	// key it uses that key, with several it gets ErrNoMatchingKey before
	// any key is used. If false, such messages get ErrAlgorithmNotAllowed
	// before the private key is used.
	AllowRSA15 bool

	// AllowTripleDES accepts tripledes-cbc data encryption, whose 64-bit
	// block is open to birthday attacks (Sweet32) on large volumes. If
	// false, such messages get ErrAlgorithmNotAllowed.
	AllowTripleDES bool

	// AllowPlaintextBody accepts a message whose Body carries no encrypted
	// data and returns it unchanged. If false, such a message gets
	// ErrNotEncrypted, so that a receiver that stops encrypting, or an
	// attacker who strips the encryption, is noticed.
	AllowPlaintextBody bool

	// DisableTrialDecryption refuses messages whose EncryptedKey carries no
	// key reference with ErrNoMatchingKey. If false, such a key is tried
	// with each key of the ring, current first, OAEP only, within
	// MaxKeyOperations.
	DisableTrialDecryption bool

	// Actor is the SOAP 1.1 actor or SOAP 1.2 role of the Security header
	// to process. If empty, the header with no actor (the ultimate
	// receiver). Security headers for other actors are left in place.
	Actor string

	// Recipient names this client as senders write it in the Recipient
	// attribute of an EncryptedKey. If set, an EncryptedKey whose
	// Recipient is present and different is for someone else and is not
	// used (data that only it could decrypt gets ErrNoMatchingKey). If
	// empty, the attribute is ignored.
	Recipient string

	// MaxMessageBytes bounds the size of a message. If zero, 64 MiB.
	MaxMessageBytes int64

	// MaxDepth bounds element nesting, in the message and in decrypted
	// content once it is in place. If zero, 100.
	MaxDepth int

	// MaxElements bounds the number of elements in the message and its
	// decrypted content together. If zero, 1,000,000.
	MaxElements int

	// MaxAttributes bounds the attributes (namespace declarations
	// included) of one element. If zero, 64.
	MaxAttributes int

	// MaxNamespaces bounds the namespace declarations in scope at any
	// element, in the message and in decrypted content; declarations
	// repeated on sibling elements, as some SOAP stacks write them, do not
	// add up. If zero, 100.
	MaxNamespaces int

	// MaxAttributeBytes bounds the length of one attribute value. If zero,
	// 4 KiB.
	MaxAttributeBytes int

	// MaxEncryptedKeys bounds the EncryptedKey elements of a message. If
	// zero, 100.
	MaxEncryptedKeys int

	// MaxEncryptedData bounds the EncryptedData elements of a message. If
	// zero, 200.
	MaxEncryptedData int

	// MaxKeyOperations bounds the private-key operations spent on one
	// message, trial decryption included. If zero, 4.
	MaxKeyOperations int

	// MaxOAEPParamsBytes bounds the OAEPparams of a key transport
	// algorithm. If zero, 256.
	MaxOAEPParamsBytes int

	// The fields below apply when the Decryptor has Signers.

	// AllowSHA1Signatures accepts rsa-sha1 signatures and SHA-1 reference
	// digests, which many partners' stacks still use by default. SHA-1 is
	// open to chosen-prefix collisions; a partner who can be made to sign
	// attacker-chosen content could have a second message accepted. If
	// false, such signatures get ErrAlgorithmNotAllowed.
	AllowSHA1Signatures bool

	// AllowUnsignedBody accepts a message whose Body no verified signature
	// covers. If false, such a message gets ErrSignatureInvalid; so does a
	// message with a wsu:Timestamp that no verified signature covers.
	AllowUnsignedBody bool

	// RequireSignedEncryptedData demands, for partners who encrypt and then
	// sign, that every EncryptedData was covered by a verified signature in
	// its encrypted form (directly or inside a signed Body). If false, a
	// signature over the decrypted Body suffices.
	RequireSignedEncryptedData bool

	// SignerRoots, if set, also accepts a signing certificate carried in
	// the message (a BinarySecurityToken or X509Certificate) that chains to
	// one of these roots at the trust ring's time, instead of being pinned
	// in the ring.
	SignerRoots *x509.CertPool

	// ClockSkew is the tolerance when checking wsu:Timestamp Created and
	// Expires against the trust ring's clock. If zero, 5 minutes.
	ClockSkew time.Duration

	// Rand is the source of randomness for implicit rejection and for
	// blinding in the private-key operation. If nil, crypto/rand.Reader.
	Rand io.Reader
}

// Default limits of a zero Policy.
const (
	defaultMaxMessageBytes    = 64 << 20
	defaultMaxDepth           = 100
	defaultMaxElements        = 1_000_000
	defaultMaxAttributes      = 64
	defaultMaxNamespaces      = 100
	defaultMaxAttributeBytes  = 4 << 10
	defaultMaxEncryptedKeys   = 100
	defaultMaxEncryptedData   = 200
	defaultMaxKeyOperations   = 4
	defaultMaxOAEPParamsBytes = 256
	maxTrialKeys              = 8
	maxNameBytes              = 1 << 10
)

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func (p *Policy) maxMessageBytes() int64 {
	if p.MaxMessageBytes > 0 {
		return p.MaxMessageBytes
	}
	return defaultMaxMessageBytes
}

func (p *Policy) rand() io.Reader {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Reader
}

// compiled is a validated Policy in the form the decryptor uses.
type compiled struct {
	keyTransports   map[string]bool
	dataEncryptions map[string]bool
	limits          xmlscan.Limits
	encLimits       xmlenc.Limits
	maxEK, maxED    int
	maxOps          int
	maxBytes        int64
	trial           bool
	plaintextBody   bool
	actor           string
	recipient       string
	rand            io.Reader
	allowSHA1       bool
	unsignedBody    bool
	signedData      bool
	signerRoots     *x509.CertPool
	skew            time.Duration
}

// compile validates p. Unknown algorithms and weak algorithms listed
// without their Allow flag are errors, never silently dropped.
func (p *Policy) compile() (*compiled, error) {
	c := &compiled{
		keyTransports:   make(map[string]bool),
		dataEncryptions: make(map[string]bool),
		limits: xmlscan.Limits{
			MaxDepth:      orInt(p.MaxDepth, defaultMaxDepth),
			MaxElements:   orInt(p.MaxElements, defaultMaxElements),
			MaxAttributes: orInt(p.MaxAttributes, defaultMaxAttributes),
			MaxNamespaces: orInt(p.MaxNamespaces, defaultMaxNamespaces),
			MaxAttrValue:  orInt(p.MaxAttributeBytes, defaultMaxAttributeBytes),
			MaxNameBytes:  maxNameBytes,
		},
		encLimits: xmlenc.Limits{
			MaxOAEPParams: orInt(p.MaxOAEPParamsBytes, defaultMaxOAEPParamsBytes),
			MaxReferences: orInt(p.MaxEncryptedData, defaultMaxEncryptedData),
		},
		maxEK:         orInt(p.MaxEncryptedKeys, defaultMaxEncryptedKeys),
		maxED:         orInt(p.MaxEncryptedData, defaultMaxEncryptedData),
		maxOps:        orInt(p.MaxKeyOperations, defaultMaxKeyOperations),
		maxBytes:      p.maxMessageBytes(),
		trial:         !p.DisableTrialDecryption,
		plaintextBody: p.AllowPlaintextBody,
		actor:         p.Actor,
		recipient:     p.Recipient,
		allowSHA1:     p.AllowSHA1Signatures,
		unsignedBody:  p.AllowUnsignedBody,
		signedData:    p.RequireSignedEncryptedData,
		signerRoots:   p.SignerRoots,
		skew:          p.ClockSkew,
		rand:          p.rand(),
	}
	kts := p.KeyTransports
	if kts == nil {
		kts = defaultKeyTransports(p.AllowRSA15)
	}
	for _, kt := range kts {
		switch kt {
		case RSAOAEPMGF1P, RSAOAEP:
		case RSA15:
			if !p.AllowRSA15 {
				return nil, fmt.Errorf("%w: KeyTransports lists %s without AllowRSA15", ErrInvalidPolicy, kt)
			}
		default:
			return nil, fmt.Errorf("%w: unknown key transport %q", ErrInvalidPolicy, string(kt))
		}
		c.keyTransports[string(kt)] = true
	}
	des := p.DataEncryptions
	if des == nil {
		des = defaultDataEncryptions(p.AllowTripleDES)
	}
	for _, de := range des {
		if _, ok := xmlenc.LookupCipher(string(de)); !ok {
			return nil, fmt.Errorf("%w: unknown data encryption %q", ErrInvalidPolicy, string(de))
		}
		if de == TripleDESCBC && !p.AllowTripleDES {
			return nil, fmt.Errorf("%w: DataEncryptions lists %s without AllowTripleDES", ErrInvalidPolicy, de)
		}
		c.dataEncryptions[string(de)] = true
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"MaxMessageBytes", p.MaxMessageBytes}, {"MaxDepth", int64(p.MaxDepth)},
		{"MaxElements", int64(p.MaxElements)}, {"MaxAttributes", int64(p.MaxAttributes)},
		{"MaxNamespaces", int64(p.MaxNamespaces)}, {"MaxAttributeBytes", int64(p.MaxAttributeBytes)},
		{"MaxEncryptedKeys", int64(p.MaxEncryptedKeys)}, {"MaxEncryptedData", int64(p.MaxEncryptedData)},
		{"MaxKeyOperations", int64(p.MaxKeyOperations)}, {"MaxOAEPParamsBytes", int64(p.MaxOAEPParamsBytes)},
	} {
		if n.v < 0 {
			return nil, fmt.Errorf("%w: %s is negative", ErrInvalidPolicy, n.name)
		}
	}
	if c.skew == 0 {
		c.skew = defaultClockSkew
	}
	if c.skew < 0 {
		return nil, fmt.Errorf("%w: ClockSkew is negative", ErrInvalidPolicy)
	}
	return c, nil
}
