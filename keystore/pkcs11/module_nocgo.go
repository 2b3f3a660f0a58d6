//go:build !cgo

package pkcs11

import "github.com/wsrenew/wsrenew/keystore"

// Without cgo there is no PKCS#11: every operation fails with
// keystore.ErrTokenUnavailable.

// OpenKey returns a [*keystore.Error] with
// [keystore.ErrTokenUnavailable]: this build has no cgo.
func (Module) OpenKey(u *keystore.TokenURI, pin string) (keystore.TokenKey, error) {
	return nil, &keystore.Error{Source: u.String(), Reason: "built without cgo; build with CGO_ENABLED=1", Err: keystore.ErrTokenUnavailable}
}

// GenerateKey returns a [*keystore.Error] with
// [keystore.ErrTokenUnavailable]: this build has no cgo.
func (m Module) GenerateKey(u *keystore.TokenURI, pin string, bits int) (keystore.TokenKey, error) {
	return m.OpenKey(u, pin)
}
