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
// Base64 decoding and CBC decryption of 1 MiB or more run as two halves
// on two goroutines when GOMAXPROCS allows (parallel.go). Invariant: the
// result and the acceptance are those of the plain path; base64 splits
// after a line break near the middle (or, unwrapped, at a multiple of
// four bytes) without counting characters, and gives way to the whole
// decode when the first half does not decode on its own or ends in
// padding, and the second CBC half starts from a copy of the ciphertext
// block before it. FuzzTwoWay (parallel_test.go) compares both with the plain
// path on the same input.
//
// Specifications: XML Encryption Syntax and Processing 1.1,
// https://www.w3.org/TR/xmlenc-core1/
package xmlenc
