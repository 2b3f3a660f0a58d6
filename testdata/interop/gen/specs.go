package main

const (
	ok        = "success"
	noKey     = "ErrNoMatchingKey"
	failed    = "ErrDecryptionFailed"
	malformed = "ErrMalformed"

	resp11  = "soap11_response.xml"
	resp12  = "soap12_response.xml"
	fault11 = "soap11_fault.xml"
	fault12 = "soap12_fault.xml"
)

// allSpecs lists the tool-produced vectors. rsa-1_5 and 3DES vectors get
// expect ErrAlgorithmNotAllowed and a policy that allows them (sidecarFor).
func allSpecs() []spec {
	return []spec{
		// WSS4J: EncryptedKey in the Security header, every key identifier.
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "issuerserial", key: "new", expect: ok},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "bst", key: "old", expect: ok},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "x509", key: "new", expect: ok},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "ski", key: "old", expect: ok},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "thumbprint", key: "new", expect: ok},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "issuerserial", key: "old", expect: ok},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "bst", key: "new", expect: ok},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "ski", element: true, key: "new", expect: ok},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "thumbprint", element: true, key: "old", expect: ok},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "x509", element: true, key: "old", expect: ok},
		// Encrypted header blocks.
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "bst", header: true, key: "new", expect: ok},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "issuerserial", header: true, key: "old", expect: ok},
		// Key transport variants.
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p-sha256", data: "aes256-gcm", keyID: "issuerserial", key: "new", expect: ok,
			notes: "rsa-oaep-mgf1p with a SHA-256 DigestMethod: OAEP digest SHA-256, MGF1 with SHA-1."},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "rsa-oaep", data: "aes128-gcm", keyID: "x509", key: "new", expect: ok,
			notes: "xmlenc11#rsa-oaep with no DigestMethod and no MGF: SHA-1 and MGF1-SHA1. WSS4J 1.6.19 writes it but its own engine refuses it."},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "rsa-oaep-sha256", data: "aes256-gcm", keyID: "issuerserial", variant: "digest-mismatch", key: "new", expect: failed,
			notes: "Producer bug: WSS4J 1.6.19 writes xmlenc11#rsa-oaep with a SHA-256 DigestMethod but encrypts the key with OAEP SHA-1 (checked with openssl pkeyutl). A decryptor that follows the DigestMethod must fail with the uniform decryption error, not retry with other digests."},
		// Data encryption variants.
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes192-gcm", keyID: "issuerserial", key: "old", expect: ok,
			notes: "WSS4J 1.6.19 writes aes192-gcm but its own engine refuses it."},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes192-cbc", keyID: "ski", key: "new", expect: ok,
			notes: "WSS4J 1.6.19 writes aes192-cbc but its own engine refuses it."},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "rsa15", data: "aes128-cbc", keyID: "issuerserial", key: "old"},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "3des", keyID: "issuerserial", key: "new"},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "rsa15", data: "3des", keyID: "bst", key: "new",
			notes: "The combination older WSS4J configurations default to."},
		// Faults.
		{producer: "wss4j", soap: "11", plaintext: fault11, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "issuerserial", key: "new", expect: ok},
		{producer: "wss4j", soap: "12", plaintext: fault12, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "thumbprint", key: "old", expect: ok},
		// EncryptedKey embedded in EncryptedData.
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "issuerserial", embed: true, key: "new", expect: ok,
			notes: "WSS4J 1.6.19's own engine cannot decrypt this layout (\"EncryptedKey does not contain ds:KeyInfo/wsse:SecurityTokenReference\")."},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "bst", embed: true, header: true, key: "old", expect: malformed,
			notes: "With two parts WSS4J embeds a copy of one EncryptedKey in each EncryptedData, so two elements carry the same Id: duplicate Ids are refused."},
		// Keys that are not in the ring.
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "issuerserial", key: "stranger", expect: noKey},
		{producer: "wss4j", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "bst", key: "stranger", expect: noKey},
		{producer: "wss4j", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "thumbprint", key: "stranger", expect: noKey},

		// xmlsec1: EncryptedKey inside EncryptedData/ds:KeyInfo.
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "x509cert", key: "new", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "issuerserial", key: "old", expect: ok},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "ski", key: "new", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "subjectname", key: "old", expect: ok,
			notes: "old and new share the subject name: the subject names two candidates and the decryptor must try both."},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "subjectname", key: "new", expect: ok,
			notes: "old and new share the subject name: the subject names two candidates and the decryptor must try both."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "keyname", key: "new", expect: ok,
			notes: "ds:KeyName is the key's name in the ring (\"new\")."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "keyname", key: "old", expect: ok,
			notes: "ds:KeyName is the key's name in the ring (\"old\")."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "keyvalue", key: "old", expect: ok},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "keyvalue", key: "new", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "none", key: "new", expect: ok,
			notes: "The EncryptedKey has no ds:KeyInfo: the decryptor has to try the keys of the ring."},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "none", key: "old", expect: ok,
			notes: "The EncryptedKey has no ds:KeyInfo: the decryptor has to try the keys of the ring."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes192-cbc", keyID: "x509cert", key: "old", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes192-gcm", keyID: "issuerserial", key: "new", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509cert", element: true, key: "old", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "issuerserial", secHeader: true, key: "new", expect: ok},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509cert", element: true, secHeader: true, key: "old", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: fault11, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "x509cert", key: "new", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p-label", data: "aes256-gcm", keyID: "x509cert", key: "new", expect: ok,
			notes: "xenc:OAEPparams holds the OAEP label (\"wsrenew\"). xmlsec1 1.2.37 writes it but cannot decrypt its own output (\"oaep decoding error\")."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "rsa15", data: "aes256-cbc", keyID: "x509cert", key: "old"},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "3des", keyID: "issuerserial", key: "new"},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509cert", key: "stranger", expect: noKey},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "subjectname", key: "stranger", expect: noKey},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "keyname", key: "stranger", expect: noKey},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "none", key: "stranger", expect: failed,
			notes: "No key reference, and trial decryption fails with every key of the ring: the uniform decryption error, not ErrNoMatchingKey."},

		// xmlsec1: the shapes of the XML Encryption interop suites (see
		// shapes in main.go).
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "keyname", variant: "two-recipients", key: "old", expect: ok,
			notes: "One EncryptedKey per recipient in the EncryptedData's KeyInfo, the stranger's first: the one for a ring key is used, the other never touched."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "issuerserial", variant: "two-recipients", key: "old", expect: ok,
			notes: "One EncryptedKey per recipient in the EncryptedData's KeyInfo, the stranger's first: the one for a ring key is used, the other never touched."},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "x509cert", variant: "two-recipients", key: "new", expect: ok,
			notes: "One EncryptedKey per recipient in the EncryptedData's KeyInfo, the stranger's first: the one for a ring key is used, the other never touched."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509digest-sha256", key: "old", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "x509digest-sha3-256", key: "new", expect: ok},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "x509digest-sha1", key: "old", expect: ok},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509digest-sha512", key: "stranger", expect: noKey},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "issuerserial", variant: "retrieval", key: "old", expect: ok,
			notes: "The EncryptedKey sits in the Body before the EncryptedData, whose KeyInfo names it by ds:RetrievalMethod."},
		{producer: "xmlsec1", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes128-cbc", keyID: "x509cert", variant: "retrieval", key: "new", expect: ok,
			notes: "The EncryptedKey sits in the Body before the EncryptedData, whose KeyInfo names it by ds:RetrievalMethod."},
		{producer: "xmlsec1", soap: "11", plaintext: resp11, kt: "rsa15", data: "aes256-gcm", keyID: "none", key: "old", expectWithPolicy: noKey,
			notes: "RSA-1_5 without a key reference while the ring holds two keys: implicit rejection cannot tell a wrong key, so no key is tried (ErrNoMatchingKey before any key operation), rather than the current key alone."},

		// xml-encryption: EncryptedKey inside EncryptedData/ds:KeyInfo, key named by ds:X509Certificate.
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "x509cert", element: true, key: "new", expect: ok,
			notes: "xml-encryption pads CBC PKCS#7-style."},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "x509cert", element: true, key: "old", expect: ok},
		{producer: "xmlenc", soap: "12", plaintext: resp12, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509cert", key: "new", expect: ok,
			notes: "The library always writes Type Element; the driver encrypted the Body content and set Type Content."},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "oaep-mgf1p-sha256", data: "aes256-gcm", keyID: "x509cert", element: true, key: "old", expect: ok},
		{producer: "xmlenc", soap: "12", plaintext: resp12, kt: "rsa-oaep-sha256-mgf1sha256", data: "aes128-gcm", keyID: "x509cert", element: true, key: "new", expect: ok,
			notes: "The library writes the xenc11:MGF element before ds:DigestMethod."},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "rsa-oaep-sha256-mgf1sha1", data: "aes256-cbc", keyID: "x509cert", key: "old", expect: ok},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "rsa-oaep-sha512-mgf1sha512", data: "aes256-gcm", keyID: "x509cert", element: true, key: "old", expect: ok},
		{producer: "xmlenc", soap: "12", plaintext: resp12, kt: "rsa-oaep-sha256-mgf1sha256-label", data: "aes256-gcm", keyID: "x509cert", element: true, key: "old", expect: ok,
			notes: "xenc:OAEPparams holds the OAEP label (\"wsrenew\")."},
		{producer: "xmlenc", soap: "11", plaintext: fault11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509cert", element: true, key: "new", expect: ok},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "rsa15", data: "aes128-cbc", keyID: "x509cert", element: true, key: "new"},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "3des", keyID: "x509cert", element: true, key: "old"},
		{producer: "xmlenc", soap: "11", plaintext: resp11, kt: "oaep-mgf1p", data: "aes256-gcm", keyID: "x509cert", element: true, key: "stranger", expect: noKey},
	}
}
