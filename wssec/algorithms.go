package wssec

import "github.com/wsrenew/wsrenew/internal/xmlenc"

// KeyTransport identifies a key transport algorithm by its W3C URI: how the
// sender encrypted the content-encryption key to our RSA key.
type KeyTransport string

// Key transport algorithms: every one this package implements. A zero
// [Policy] allows all of them but [RSA15].
const (
	// RSAOAEPMGF1P is RSA-OAEP with MGF1 over SHA-1 and, by default, SHA-1 as
	// the OAEP digest (XML Encryption 1.0). A DigestMethod may name another
	// OAEP digest; MGF1 stays SHA-1.
	RSAOAEPMGF1P KeyTransport = xmlenc.RSAOAEPMGF1P
	// RSAOAEP is RSA-OAEP as XML Encryption 1.1 defines it: the DigestMethod
	// and MGF elements name the OAEP digest and the MGF1 digest.
	RSAOAEP KeyTransport = xmlenc.RSAOAEP
	// RSA15 is RSAES-PKCS1-v1_5. It is refused unless [Policy.AllowRSA15] is
	// set: it is open to Bleichenbacher's padding-oracle attack.
	RSA15 KeyTransport = xmlenc.RSA15
)

// DataEncryption identifies a block encryption algorithm by its W3C URI: how
// the sender encrypted the data itself.
type DataEncryption string

// Data encryption algorithms: every one this package implements. A zero
// [Policy] allows all of them but [TripleDESCBC].
const (
	AES128GCM DataEncryption = xmlenc.AES128GCM
	AES192GCM DataEncryption = xmlenc.AES192GCM
	AES256GCM DataEncryption = xmlenc.AES256GCM
	// The CBC modes are not authenticated: an attacker who can submit
	// modified messages and observe the outcome may learn about the
	// plaintext. Prefer GCM, or verify a signature over the EncryptedData.
	AES128CBC DataEncryption = xmlenc.AES128CBC
	AES192CBC DataEncryption = xmlenc.AES192CBC
	AES256CBC DataEncryption = xmlenc.AES256CBC
	// TripleDESCBC is refused unless [Policy.AllowTripleDES] is set: its
	// 64-bit block makes large volumes under one key vulnerable to
	// birthday attacks (Sweet32), on top of CBC's lack of authentication.
	TripleDESCBC DataEncryption = xmlenc.TripleDESCBC
)

// keyTransports are the key transport algorithms this package implements,
// the constants above.
var keyTransports = [...]KeyTransport{RSAOAEPMGF1P, RSAOAEP, RSA15}

// dataEncryptions are the data encryption algorithms this package
// implements, the constants above.
var dataEncryptions = [...]DataEncryption{AES128GCM, AES192GCM, AES256GCM, AES128CBC, AES192CBC, AES256CBC, TripleDESCBC}

// defaultKeyTransports is what a Policy with nil KeyTransports allows:
// every supported algorithm whose danger-named knob is set or that has
// none.
func defaultKeyTransports(allowRSA15 bool) []KeyTransport {
	var out []KeyTransport
	for _, kt := range keyTransports {
		if kt != RSA15 || allowRSA15 {
			out = append(out, kt)
		}
	}
	return out
}

// defaultDataEncryptions is what a Policy with nil DataEncryptions allows.
func defaultDataEncryptions(allowTripleDES bool) []DataEncryption {
	var out []DataEncryption
	for _, de := range dataEncryptions {
		if de != TripleDESCBC || allowTripleDES {
			out = append(out, de)
		}
	}
	return out
}
