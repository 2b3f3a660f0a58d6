//go:build cgo

package keystore

// tokensBuilt reports whether this build can use PKCS#11 tokens.
const tokensBuilt = true
