//go:build cgo

package pkcs11_test

// tokensBuilt reports whether this build can use PKCS#11 tokens.
const tokensBuilt = true
