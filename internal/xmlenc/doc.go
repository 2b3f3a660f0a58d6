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
// Base64 decoding and CBC and GCM decryption of 1 MiB or more run on two
// goroutines when GOMAXPROCS allows (parallel.go), which take 256 KiB
// pieces (wrapped base64: two halves) from a shared counter, so that on a
// busy machine one does the work the other is not scheduled for.
// Invariant: the result and the acceptance are those of the plain path;
// unwrapped base64 gives way to the whole decode when a piece but the
// last does not decode to three bytes for every four characters; wrapped
// base64 splits after a line break near the middle without counting
// characters, and gives way to the whole decode when the first half does
// not decode on its own or ends in padding; each CBC piece starts from a copy, taken before any piece is
// decrypted, of the ciphertext block before it; GCM computes the tag
// first, from a GHASH of each piece (the standard library's Seal with
// the piece as additional data, joined by GHASH's linearity), compares it
// in constant time, and only then decrypts the pieces in CTR mode from
// GCM's counter, so no plaintext exists before the tag verified.
// FuzzTwoWay (parallel_test.go) compares all three with the plain path on
// the same input.
//
// Base64 text of 256 KiB or more is decoded two characters per lookup in
// a table built for the call (base64.go), whole groups of eight alphabet
// characters at a time, and by the standard decoder from the first group
// holding anything else. Invariant: result and acceptance are the
// standard decoder's; FuzzPairTable (base64_test.go) compares them.
//
// Specifications: XML Encryption Syntax and Processing 1.1,
// https://www.w3.org/TR/xmlenc-core1/
package xmlenc
