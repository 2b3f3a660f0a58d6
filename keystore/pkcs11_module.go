package keystore

import (
	"crypto"
	"errors"
	"io"
)

// TokenModule opens and generates RSA key pairs in PKCS#11 tokens. A
// [Store] uses the one in [Options.Tokens] for its token entries;
// [GenerateTokenCredential] and [OpenTokenCredential] take one as an
// argument. Package keystore/pkcs11 provides the implementation (it
// needs cgo); keeping it out of this package keeps cgo and the PKCS#11
// wrapper out of programs that keep their keys in files only.
//
// The methods get a URI that [ParseTokenURI] accepts, with an id, and a
// non-empty PIN; they must not modify the URI and must not put the PIN
// in their errors. Their errors should be [*Error]s; any other
// error is reported as a *Error with [ErrToken]. If a returned key
// also implements io.Closer, the store closes it when it discards the
// key because the key fails its known-answer tests.
type TokenModule interface {
	// OpenKey opens the key pair that u names, logged in with pin. It
	// fails if u names no key pair or several.
	OpenKey(u *TokenURI, pin string) (TokenKey, error)
	// GenerateKey creates an RSA key pair of bits bits with u's id and
	// label (CKA_ID and CKA_LABEL), logged in with pin. It refuses if the
	// token already holds a key pair with that id or label.
	GenerateKey(u *TokenURI, pin string, bits int) (TokenKey, error)
}

// TokenKey is a private key in a token, as a [TokenModule] returns it:
// it signs (the self-signed certificate and certificate requests) and
// decrypts (the key transport of a message).
type TokenKey interface {
	crypto.Signer
	crypto.Decrypter
}

// noModule is the error of a token operation without a module.
func noModule(u *TokenURI) error {
	return &Error{Source: u.String(), Reason: "no PKCS#11 module: set Options.Tokens (see package keystore/pkcs11)", Err: ErrTokenUnavailable}
}

// openTokenKey opens the key pair that u names with m. The module's
// session stays open as long as the process uses the key.
func openTokenKey(m TokenModule, u *TokenURI, pin string) (*tokenKey, error) {
	if m == nil {
		return nil, noModule(u)
	}
	if pin == "" {
		return nil, &Error{Source: u.String(), Reason: "no PIN", Err: ErrNoPassword}
	}
	k, err := m.OpenKey(u.clone(), pin)
	return newTokenKey(u, k, err, "find the key")
}

// generateTokenKey creates an RSA key pair of bits bits in the token,
// with u's id and label.
func generateTokenKey(m TokenModule, u *TokenURI, pin string, bits int) (*tokenKey, error) {
	if m == nil {
		return nil, noModule(u)
	}
	if pin == "" {
		return nil, &Error{Source: u.String(), Reason: "no PIN", Err: ErrNoPassword}
	}
	k, err := m.GenerateKey(u.clone(), pin, bits)
	return newTokenKey(u, k, err, "generate")
}

// newTokenKey wraps the key a module returned (or its error err, during
// what) and probes what it can perform.
func newTokenKey(u *TokenURI, k TokenKey, err error, what string) (*tokenKey, error) {
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			return nil, err
		}
		return nil, &Error{Source: u.String(), Reason: what, Err: ErrToken, Cause: err}
	}
	if k == nil {
		return nil, &Error{Source: u.String(), Reason: what + ": the module returned no key", Err: ErrToken}
	}
	caps, err := probeCapabilities(k)
	if err != nil {
		if c, ok := k.(io.Closer); ok {
			c.Close()
		}
		return nil, &Error{Source: u.String(), Reason: "probe the key", Err: ErrToken, Cause: err}
	}
	return &tokenKey{key: k, caps: caps, uri: u.clone()}, nil
}
