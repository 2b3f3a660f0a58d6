//go:build cgo

package keystore

import (
	"crypto"
	"errors"

	"github.com/ThalesGroup/crypto11"
)

// configureToken opens a session with the token u names, logged in with
// pin. The module's errors never contain the PIN.
func configureToken(u *TokenURI, pin string) (*crypto11.Context, error) {
	if pin == "" {
		return nil, &TokenError{URI: u.String(), Reason: "no PIN", Err: ErrNoPassword}
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:        u.ModulePath,
		TokenLabel:  u.Token,
		TokenSerial: u.Serial,
		Pin:         pin,
	})
	if err != nil {
		return nil, &TokenError{URI: u.String(), Reason: "open the token", Err: ErrToken, Cause: err}
	}
	return ctx, nil
}

// newTokenKey wraps a token key pair and probes what it can perform.
func newTokenKey(u *TokenURI, ctx *crypto11.Context, s crypto11.Signer) (*tokenKey, error) {
	kp, ok := s.(interface {
		crypto.Signer
		crypto.Decrypter
	})
	if !ok {
		ctx.Close()
		return nil, &TokenError{URI: u.String(), Reason: "the key cannot decrypt", Err: ErrToken}
	}
	caps, err := probeCapabilities(kp)
	if err != nil {
		ctx.Close()
		return nil, &TokenError{URI: u.String(), Reason: "probe the key", Err: ErrToken, Cause: err}
	}
	// The session stays open for as long as the process uses the key.
	return &tokenKey{key: kp, caps: caps, uri: u}, nil
}

// openTokenKey opens the key pair that u names. The session stays open
// as long as the process uses the key.
func openTokenKey(u *TokenURI, pin string) (*tokenKey, error) {
	ctx, err := configureToken(u, pin)
	if err != nil {
		return nil, err
	}
	found, err := ctx.FindKeyPairs(u.ID, label(u))
	switch {
	case err != nil:
	case len(found) == 0:
		err = errors.New("no such key pair")
	case len(found) > 1:
		err = errors.New("the URI names several key pairs")
	}
	if err != nil {
		ctx.Close()
		return nil, &TokenError{URI: u.String(), Reason: "find the key", Err: ErrToken, Cause: err}
	}
	return newTokenKey(u, ctx, found[0])
}

// generateTokenKey creates an RSA key pair of bits bits in the token,
// with u's id and label; it refuses to if the token holds one already.
func generateTokenKey(u *TokenURI, pin string, bits int) (*tokenKey, error) {
	ctx, err := configureToken(u, pin)
	if err != nil {
		return nil, err
	}
	// A second key under the same id or label would make the URI
	// ambiguous.
	byID, err := ctx.FindKeyPairs(u.ID, nil)
	var byLabel []crypto11.Signer
	if err == nil && u.Object != "" {
		byLabel, err = ctx.FindKeyPairs(nil, label(u))
	}
	if err == nil && len(byID)+len(byLabel) > 0 {
		err = errors.New("the token already holds a key pair with this id or label")
	}
	if err != nil {
		ctx.Close()
		return nil, &TokenError{URI: u.String(), Reason: "generate", Err: ErrToken, Cause: err}
	}
	s, err := ctx.GenerateRSAKeyPairWithLabel(u.ID, label(u), bits)
	if err != nil {
		ctx.Close()
		return nil, &TokenError{URI: u.String(), Reason: "generate", Err: ErrToken, Cause: err}
	}
	return newTokenKey(u, ctx, s)
}

// label is the CKA_LABEL of u's key, nil if u names none.
func label(u *TokenURI) []byte {
	if u.Object == "" {
		return nil
	}
	return []byte(u.Object)
}
