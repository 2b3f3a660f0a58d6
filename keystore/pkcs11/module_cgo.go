//go:build cgo

package pkcs11

import (
	"errors"

	"github.com/ThalesGroup/crypto11"

	"github.com/wsrenew/wsrenew/keystore"
)

// OpenKey opens the key pair that u names, logged in with pin. It fails
// if u names no key pair or several.
func (m Module) OpenKey(u *keystore.TokenURI, pin string) (keystore.TokenKey, error) {
	ctx, err := m.configure(u, pin)
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
		return nil, &keystore.Error{Source: u.String(), Reason: "find the key", Err: keystore.ErrToken, Cause: err}
	}
	return newKey(u, ctx, found[0])
}

// GenerateKey creates an RSA key pair of bits bits in the token, with
// u's id and label, logged in with pin; it refuses if the token holds a
// key pair with that id or label already.
func (m Module) GenerateKey(u *keystore.TokenURI, pin string, bits int) (keystore.TokenKey, error) {
	ctx, err := m.configure(u, pin)
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
		return nil, &keystore.Error{Source: u.String(), Reason: "generate", Err: keystore.ErrToken, Cause: err}
	}
	s, err := ctx.GenerateRSAKeyPairWithLabel(u.ID, label(u), bits)
	if err != nil {
		ctx.Close()
		return nil, &keystore.Error{Source: u.String(), Reason: "generate", Err: keystore.ErrToken, Cause: err}
	}
	return newKey(u, ctx, s)
}

// configure opens a session with the token u names, logged in with pin,
// and a pool for m's sessions. The module's errors never contain the PIN.
func (m Module) configure(u *keystore.TokenURI, pin string) (*crypto11.Context, error) {
	if u == nil {
		return nil, &keystore.Error{Reason: "no URI", Err: keystore.ErrInvalidTokenURI}
	}
	if pin == "" {
		return nil, &keystore.Error{Source: u.String(), Reason: "no PIN", Err: keystore.ErrNoPassword}
	}
	sessions, err := m.sessions()
	if err != nil {
		return nil, &keystore.Error{Source: u.String(), Reason: err.Error(), Err: keystore.ErrInvalidOptions}
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:        u.ModulePath,
		TokenLabel:  u.Token,
		TokenSerial: u.Serial,
		Pin:         pin,
		// crypto11 keeps one session for the login and pools the rest.
		// Its default, 1024, makes its FIFO pool open a new session for
		// each of the first 1023 operations and keep them all open.
		MaxSessions: sessions + 1,
	})
	if err != nil {
		return nil, &keystore.Error{Source: u.String(), Reason: "open the token", Err: keystore.ErrToken, Cause: err}
	}
	return ctx, nil
}

// key is a key pair in a token with the session that opened it; Close
// ends the session.
type key struct {
	keystore.TokenKey
	ctx *crypto11.Context
}

// Close ends the key's session with the token.
func (k *key) Close() error { return k.ctx.Close() }

// newKey wraps a token key pair, which must decrypt as well as sign.
func newKey(u *keystore.TokenURI, ctx *crypto11.Context, s crypto11.Signer) (keystore.TokenKey, error) {
	kp, ok := s.(keystore.TokenKey)
	if !ok {
		ctx.Close()
		return nil, &keystore.Error{Source: u.String(), Reason: "the key cannot decrypt", Err: keystore.ErrToken}
	}
	return &key{TokenKey: kp, ctx: ctx}, nil
}

// label is the CKA_LABEL of u's key, nil if u names none.
func label(u *keystore.TokenURI) []byte {
	if u.Object == "" {
		return nil
	}
	return []byte(u.Object)
}
