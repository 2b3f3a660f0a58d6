// Package wssec decrypts WS-Security encrypted SOAP responses with a ring
// of keys, so that a client keeps decrypting while its key is renewed.
//
// A [KeyRing] holds the current key, which receivers are told to encrypt
// to, and retained keys, which receivers may still use until each has
// confirmed the switch and a retention period has passed. A [Decryptor]
// finds the key each message names among them:
//
//	ring := wssec.NewKeyRing(wssec.Key{Decrypter: newKey, Certificate: newCert})
//	if err := ring.Retain(wssec.Key{Decrypter: oldKey, Certificate: oldCert}, time.Time{}); err != nil {
//		return err
//	}
//	d := &wssec.Decryptor{Keys: ring}
//	res, err := d.Decrypt(responseBody)
//	if err != nil {
//		return err // errors.Is(err, wssec.ErrNoMatchingKey), ...
//	}
//	use(res.Envelope)
//
// What it processes: SOAP 1.1 and 1.2; an EncryptedKey in the wsse:Security
// header with a ReferenceList (one key, many EncryptedData), an
// EncryptedKey inside EncryptedData/ds:KeyInfo, or a standalone
// ReferenceList whose EncryptedData reference their key; Content and
// Element encryption of the Body and of header blocks, including
// wsse11:EncryptedHeader. Key transport RSA-OAEP in both its XML
// Encryption 1.0 and 1.1 forms (any SHA-1/SHA-2 digest and MGF1 hash,
// OAEPparams), RSA-1_5 on request. Data encryption AES-GCM and AES-CBC with
// 128, 192 and 256-bit keys, 3DES on request. Keys are found by every
// reference the WS-Security X.509 Token Profile and XML Signature define:
// X509IssuerSerial, SubjectKeyIdentifier, ThumbprintSHA1, a direct
// reference to a BinarySecurityToken, an X509Certificate, X509SubjectName,
// KeyName (matched against [Key.Name]), an RSA KeyValue, and the XML
// Signature 1.1 dsig11:X509Digest (SHA-1, SHA-2 and SHA-3 digests of the
// certificate, each one map lookup). A renewed
// certificate often keeps its subject name, so a name may select several
// keys; each is tried. A message with no key reference at all is tried
// with each key of the ring, current first (RSA-OAEP only; RSA-1_5 without
// a reference is refused when the ring holds several keys). Data addressed
// to several recipients, one EncryptedKey each (in its KeyInfo, or in the
// Security header naming the same data or sharing one ReferenceList), is
// decrypted with the one for a ring key; the others are never touched. A ds:RetrievalMethod may lead
// to an EncryptedKey elsewhere in the Header or Body.
//
// Signed responses are verified when the Decryptor has a [TrustRing] of
// the partner's signing certificates ([Decryptor.Signers]): the
// signatures of the Security header in header order, so that both
// sign-then-encrypt and encrypt-then-sign work (an encrypted Signature
// too), with the Body and the Timestamp required to be covered by element
// identity, which defeats signature wrapping; only the Security header's
// own Timestamp counts, and an unsigned SOAP Fault is an error, never a
// response. The TrustRing renews like the KeyRing.
//
// To decrypt the responses of any Go SOAP client, give its http.Client a
// [Transport]; to read a message from a stream within the size limit, use
// [Decryptor.DecryptReader]. A key store that holds the authoritative ring
// state publishes it read-only with [RingOptions.Publish] and swaps it in
// one step with the replace function that it receives.
//
// What it does not do: it reads no files and does no network I/O of its
// own (the Transport sends what its caller sends); it
// neither fetches CipherReference data nor resolves external URIs; it does
// not unwrap keys with other keys (KeyReference) or derived keys, verify
// signatures without Signers, or detect replays. The [Encryptor] is the receiver side,
// for Go receivers and tests.
//
// # Security
//
// The zero [Policy] is the secure default. Before any private-key
// operation, the whole message is checked against the policy: size, depth,
// element, attribute and namespace limits; no DTD, hence no entity
// expansion; no processing instructions; one Security header per actor;
// unique Ids; every reference resolving inside the message; algorithms on
// the allow-list (RSA-1_5 and 3DES refused unless enabled). Those failures
// are reported precisely, since they depend only on what the sender sent.
// From the first private-key operation on, every failure — key transport,
// padding, authentication tag, or the decrypted XML — is the single
// [ErrDecryptionFailed], with no wrapped cause. That removes the
// error-message oracle that padding-oracle attacks on XML Encryption
// exploit; it does not remove timing differences. AES-CBC is not
// authenticated: prefer GCM, or verify a signature over the EncryptedData.
// RSA-1_5, when allowed, is processed with implicit rejection.
//
// Every current key has at least 2048 bits. A weaker key is kept only as
// a retained key, with [RingOptions.AllowWeakRetainedKey], while a renewal
// moves away from it.
//
// Keys in an HSM may perform fewer key transports than keys in software
// (a PKCS#11 token may do OAEP with SHA-1 only). A Decrypter that
// implements [CapableDecrypter] says what it refuses; a message whose key
// transport the chosen key refuses is refused with [ErrKeyCapability]
// before the key is used, decided from the message and the ring alone.
// For a Decrypter that reports RSA-1_5 padding errors instead of
// returning a random key (it refuses a SessionKeyLen), the random key is
// substituted here, so implicit rejection holds for it too.
// [TransportParams.Check] asks the same question for a receiver's key
// transport before a renewal hands out the certificate.
//
// Decrypted content is parsed in the namespace context of the element it
// replaces and must not contain further encrypted data, Security headers
// or SOAP envelope elements, so a message cannot smuggle a second round of
// processing.
//
// # Concurrency
//
// [KeyRing], [Decryptor] and [Encryptor] are safe for concurrent use.
// Decryption reads an immutable snapshot of the ring, so rotations never
// block it or change the keys it tries halfway. A call verifying a signed
// message of 64 KiB or more runs one more goroutine, which digests the
// Body as received on a second core while the call parses the message;
// it reads only the message, is stopped before the first private-key
// operation, and has ended when the call returns. No other goroutine is
// started.
//
// # Compatibility
//
// Messages from Apache WSS4J/Santuario, xmlsec1 and the Node package
// xml-encryption are decrypted; the repository's testdata holds vectors
// each of them produced.
package wssec
