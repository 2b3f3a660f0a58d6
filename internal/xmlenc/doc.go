// Package xmlenc holds the XML Encryption primitives the wssec package builds
// on: algorithm identifiers, RSA key transport, the block ciphers with the
// XML Encryption framing (IV ‖ ciphertext [‖ tag]), and the model of the
// EncryptedKey and EncryptedData elements.
//
// The primitives are derandomized where they can be: encryption takes the IV
// and content-encryption key as arguments, so test vectors can pin them.
// Errors carry detail for this package's own tests; wssec collapses every
// error after the first private-key operation into one.
//
// Specifications: XML Encryption Syntax and Processing 1.1,
// https://www.w3.org/TR/xmlenc-core1/
package xmlenc
