//go:build !cgo

package keystore

// Without cgo there is no PKCS#11: token entries fail with
// ErrTokenUnavailable, and everything else works.

func openTokenKey(u *TokenURI, pin string) (*tokenKey, error) {
	return nil, &TokenError{URI: u.String(), Reason: "built without cgo", Err: ErrTokenUnavailable}
}

func generateTokenKey(u *TokenURI, pin string, bits int) (*tokenKey, error) {
	return openTokenKey(u, pin)
}
