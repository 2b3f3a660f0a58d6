package main

import "strings"

// Expectations, as the sidecars name them.
const (
	ok             = "success"
	sigInvalid     = "ErrSignatureInvalid"
	untrusted      = "ErrUntrustedSigner"
	expired        = "ErrMessageExpired"
	malformed      = "ErrMalformed"
	algNotAllowed  = "ErrAlgorithmNotAllowed"
	resp11         = "soap11_response.xml"
	resp12         = "soap12_response.xml"
	tnsNS          = "urn:example:partner:statements:v2"
	messageContext = "{" + tnsNS + "}MessageContext"
)

// Outcomes of WSS4J's own engine (WSSecurityEngine.processSecurityHeader)
// for a vector, checked on every run: "ok", or a fragment of its error.
const (
	wssOK         = "ok"
	wssUntrusted  = "The security token could not be authenticated or authorized"
	wssInvalid    = "The signature or decryption was invalid"
	wssExpired    = "The message has expired"
	wssSecExpired = "The security semantics of the message have expired"
)

// spec is one vector produced by WSS4J.
type spec struct {
	soap        string   // 11 or 12
	order       string   // sign, sign-encrypt, encrypt-sign
	sigAlg      string   // rsa-sha256, rsa-sha512, rsa-sha1, ecdsa-sha256
	digest      string   // sha256, sha512, sha1
	defaults    bool     // leave signature method and digest to WSS4J (sigAlg and digest say what it picks)
	keyID       string   // bst, issuerserial, ski, thumbprint, x509
	signer      string   // receiver, receiver-new, receiver-ec, stranger
	parts       []string // --sign values; nil means Body and Timestamp
	ttl         int      // Timestamp time to live in seconds; 0 means 300
	noTimestamp bool
	encFor      string // old, new: the Body content is encrypted for this key
	encData     string // data encryption of the Body content
	encKeyID    string // key identifier of the EncryptedKey
	encSig      bool   // sign-encrypt: also encrypt the ds:Signature (EncryptSignature)
	variant     string // extra name part
	expect      string
	with        *ExpectWith
	wss4j       string // outcome of WSS4J's engine, see wssOK
	notes       string
	largeBody   int    // the Body holds at least this many elements (largePlaintext); the vector is stored gzipped
	in          string // the plaintext file, when generated (set by run)
}

func (s spec) plaintext() string {
	if s.soap == "12" {
		return resp12
	}
	return resp11
}

func (s spec) name() string {
	parts := []string{"wss4j", "soap" + s.soap, s.order, s.sigAlg, s.digest, s.keyID}
	if s.variant != "" {
		parts = append(parts, s.variant)
	}
	parts = append(parts, s.signer)
	if s.encFor != "" {
		parts = append(parts, "for-"+s.encFor)
	}
	return strings.Join(parts, "_")
}

var (
	allowSHA1    = &ExpectWith{AllowSHA1: true}
	trustRenewed = &ExpectWith{Trust: []string{"receiver", "receiver-new"}}
	trustEC      = &ExpectWith{Trust: []string{"receiver", "receiver-ec"}}
)

// attackSource is the sign-only vector the attack vectors are derived from.
const attackSource = "wss4j_soap11_sign_rsa-sha256_sha256_bst_receiver"

// encryptedAttackSource is the encrypt-then-sign vector whose ciphertext is
// tampered with.
const encryptedAttackSource = "wss4j_soap11_encrypt-sign_rsa-sha256_sha256_bst_receiver_for-new"

// allSpecs lists the tool-produced vectors.
func allSpecs() []spec {
	return []spec{
		// Sign only: Body and Timestamp, every key identifier.
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", signer: "receiver", expect: ok, wss4j: wssOK,
			notes: "The source of the attack vectors."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", signer: "receiver", expect: ok, wss4j: wssOK},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "ski", signer: "receiver", expect: ok, wss4j: wssOK},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "thumbprint", signer: "receiver", expect: ok, wss4j: wssOK,
			notes: "ThumbprintSHA1 names the certificate by its SHA-1 hash; that is a lookup, not a signature or digest algorithm, so it is allowed without allow_sha1."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "x509", signer: "receiver", expect: ok, wss4j: wssOK,
			notes: "The certificate travels inside the KeyIdentifier (ValueType X509v3), not in a BinarySecurityToken."},
		{soap: "12", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", signer: "receiver", expect: ok, wss4j: wssOK},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "large-body", signer: "receiver",
			largeBody: largeBodyElements, expect: ok, wss4j: wssOK,
			notes: "A Body of 100,000 elements (25,000 statement entries); stored gzipped, as the .xml.gz next to this sidecar."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "header", signer: "receiver",
			parts: []string{"Body", "Timestamp", messageContext}, expect: ok, wss4j: wssOK,
			notes: "Also signs the tns:MessageContext header block; WSS4J adds a wsu:Id (and an xmlns:wsu declaration) to it."},

		// Signature methods and digests.
		{soap: "11", order: "sign", sigAlg: "rsa-sha512", digest: "sha512", keyID: "thumbprint", signer: "receiver", expect: ok, wss4j: wssOK},
		{soap: "11", order: "sign", sigAlg: "rsa-sha1", digest: "sha1", defaults: true, keyID: "bst", variant: "defaults", signer: "receiver",
			expect: algNotAllowed, with: allowSHA1, wss4j: wssOK,
			notes: "WSSecSignature with no signature algorithm and no digest set: WSS4J 1.6.19 picks rsa-sha1 (from the RSA key) and SHA-1 digests, which is what partners on default settings send."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha1", digest: "sha256", keyID: "ski", signer: "receiver", expect: algNotAllowed, with: allowSHA1, wss4j: wssOK,
			notes: "Only the signature method uses SHA-1."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha1", keyID: "issuerserial", signer: "receiver", expect: algNotAllowed, with: allowSHA1, wss4j: wssOK,
			notes: "Only the Reference digests use SHA-1."},
		{soap: "11", order: "sign", sigAlg: "ecdsa-sha256", digest: "sha256", keyID: "bst", signer: "receiver-ec", expect: untrusted, with: trustEC, wss4j: wssOK,
			notes: "ECDSA P-256; the SignatureValue is r||s, 64 octets. WSS4J needs the algorithm set explicitly: left to itself it fails with \"An unknown signature algorithm was specified: EC\". The WSS4J engine was run trusting receiver-ec."},

		// Signers that are not (yet) trusted.
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", signer: "receiver-new", expect: untrusted, with: trustRenewed, wss4j: wssOK,
			notes: "Signed with the partner's renewed key (same subject as receiver, other serial and key). The WSS4J engine was run trusting receiver and receiver-new."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", signer: "receiver-new", expect: untrusted, with: trustRenewed, wss4j: wssOK,
			notes: "Signed with the partner's renewed key; the IssuerSerial differs from receiver's only in the serial number. The WSS4J engine was run trusting receiver and receiver-new."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", signer: "stranger", expect: untrusted, wss4j: wssUntrusted,
			notes: "A valid signature by a certificate from the same CA that is not trusted. The BinarySecurityToken carries the certificate, so the signature itself verifies."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", signer: "stranger", expect: untrusted, wss4j: wssInvalid,
			notes: "The IssuerSerial names a certificate that is not trusted. WSS4J cannot find the certificate and reports an invalid signature."},

		// Timestamp handling.
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "expired", ttl: 1, signer: "receiver", expect: expired, wss4j: wssExpired,
			notes: "Timestamp time to live 1 s; the sidecar's at is ten minutes after Expires, beyond the default clock-skew allowance of 5 minutes."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "timestamp-unsigned", signer: "receiver",
			parts: []string{"Body"}, expect: sigInvalid, wss4j: wssOK,
			notes: "A Timestamp is present but only the Body is signed, so its Created and Expires are not protected. WSS4J's engine accepts it (a WS-SecurityPolicy layer would not)."},
		{soap: "11", order: "sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "no-timestamp", noTimestamp: true, signer: "receiver", expect: ok, wss4j: wssOK,
			notes: "No Timestamp at all, so no created or expires: any clock within the certificates' validity (2026-11-26 to 2046-11-21) applies."},

		// Sign, then encrypt the Body content.
		{soap: "11", order: "sign-encrypt", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", signer: "receiver", encFor: "new", encData: "aes256-gcm", encKeyID: "issuerserial",
			expect: ok, wss4j: wssOK,
			notes: "The Body digest covers the plaintext Body: decrypt first, then verify."},
		{soap: "11", order: "sign-encrypt", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", signer: "receiver", encFor: "old", encData: "aes256-cbc", encKeyID: "ski",
			expect: ok, wss4j: wssOK,
			notes: "The Body digest covers the plaintext Body: decrypt first, then verify. Encrypted for the retained tenant key."},

		// Sign, then encrypt the Body content and the Signature itself.
		{soap: "11", order: "sign-encrypt", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "encrypt-signature", signer: "receiver", encFor: "new", encData: "aes256-gcm", encKeyID: "issuerserial", encSig: true,
			expect: ok, wss4j: wssOK,
			notes: "WS-SecurityPolicy EncryptSignature: the ds:Signature is encrypted too (Type Element, one EncryptedKey for both), so it is only present after decryption and is verified on the decrypted envelope. The analysis reads the Signature after decrypting it with the fixture key."},
		{soap: "11", order: "sign-encrypt", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", variant: "encrypt-signature", signer: "receiver", encFor: "old", encData: "aes128-cbc", encKeyID: "ski", encSig: true,
			expect: ok, wss4j: wssOK,
			notes: "As the GCM EncryptSignature vector, with AES-128-CBC, encrypted for the retained tenant key."},

		// Encrypt the Body content, then sign.
		{soap: "11", order: "encrypt-sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", signer: "receiver", encFor: "new", encData: "aes256-gcm", encKeyID: "issuerserial",
			expect: ok, wss4j: wssOK,
			notes: "The Body digest covers the Body holding the xenc:EncryptedData: verify first, then decrypt."},
		{soap: "11", order: "encrypt-sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "bst", variant: "encrypteddata", signer: "receiver", encFor: "new", encData: "aes128-gcm", encKeyID: "issuerserial",
			parts: []string{"EncryptedData", "Timestamp"}, expect: sigInvalid, wss4j: wssOK,
			notes: "The signature covers the xenc:EncryptedData element (by its own Id attribute; WSS4J adds no wsu:Id) and the Timestamp, not the Body element, so the Body is not signed: anything added next to the EncryptedData would be unprotected. WSS4J's engine accepts it; WS-SecurityPolicy SignedParts/Body would not."},
		{soap: "11", order: "encrypt-sign", sigAlg: "rsa-sha256", digest: "sha256", keyID: "issuerserial", variant: "body-encrypteddata", signer: "receiver", encFor: "new", encData: "aes256-gcm", encKeyID: "issuerserial",
			parts: []string{"Body", "EncryptedData", "Timestamp"}, expect: ok, wss4j: wssOK,
			notes: "Signs the Body and, separately, the xenc:EncryptedData inside it: one Reference target contains another."},
	}
}
