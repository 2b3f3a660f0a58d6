package pkcs11

import "github.com/wsrenew/wsrenew/keystore"

// Module is the PKCS#11 [keystore.TokenModule]: give it to a store as
// keystore.Options{Tokens: Module{}}, or to
// [keystore.GenerateTokenCredential] and [keystore.OpenTokenCredential].
// It logs in to the token a URI names with the user PIN it is given and
// keeps that session open for as long as the process uses the key. Its
// errors are [*keystore.TokenError]s with [keystore.ErrToken] (the
// module does not load, the token is missing, the PIN is wrong, the key
// is not there, ambiguous or cannot decrypt, or generation failed),
// [keystore.ErrInvalidTokenURI] (a nil URI), [keystore.ErrNoPassword] (an
// empty PIN) or
// [keystore.ErrTokenUnavailable] (built without cgo); they never hold the
// PIN.
type Module struct{}

var _ keystore.TokenModule = Module{}
