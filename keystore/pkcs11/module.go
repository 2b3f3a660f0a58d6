package pkcs11

import (
	"fmt"
	"runtime"

	"github.com/wsrenew/wsrenew/keystore"
)

// Module is the PKCS#11 [keystore.TokenModule]: give it to a store as
// keystore.Options{Tokens: Module{}}, or to
// [keystore.GenerateTokenCredential] and [keystore.OpenTokenCredential].
// It logs in to the token a URI names with the user PIN it is given and
// keeps that session open for as long as the process uses the key. Its
// errors are [*keystore.Error]s with [keystore.ErrToken] (the
// module does not load, the token is missing, the PIN is wrong, the key
// is not there, ambiguous or cannot decrypt, or generation failed),
// [keystore.ErrInvalidTokenURI] (a nil URI), [keystore.ErrNoPassword] (an
// empty PIN) or
// [keystore.ErrTokenUnavailable] (built without cgo); they never hold the
// PIN. A nonsensical Sessions gives [keystore.ErrInvalidOptions].
//
// Each key the module opens has its own pool of PKCS#11 sessions, shared
// by the goroutines that decrypt with it: a decryption takes a free
// session, or opens one while fewer than Sessions are open, or waits for
// one; no lock is held across the call into the token, so decryptions
// run in parallel up to Sessions. The wait has no time limit: a token
// too busy to answer in time would otherwise turn into decryption
// failures that look like tampered messages.
//
// Module is safe for concurrent use.
type Module struct {
	// Sessions is the most PKCS#11 sessions each opened key uses at once
	// (one more stays open to keep the login). Zero means
	// runtime.GOMAXPROCS(0) when the key is opened, at least 2: enough
	// for a token that computes on this machine's processors, such as
	// SoftHSM2. For a network HSM, which computes elsewhere, raise it to
	// the number of decryptions to have in flight, within the HSM's
	// session limit (crypto11 never opens more than the token allows).
	Sessions int
}

var _ keystore.TokenModule = Module{}

// maxSessions bounds Module.Sessions, far above any token's limit.
const maxSessions = 1 << 16

// sessions returns the size of each key's session pool.
func (m Module) sessions() (int, error) {
	switch {
	case m.Sessions < 0 || m.Sessions > maxSessions:
		return 0, fmt.Errorf("Sessions %d out of range [0, %d]", m.Sessions, maxSessions)
	case m.Sessions > 0:
		return m.Sessions, nil
	}
	return max(2, runtime.GOMAXPROCS(0)), nil
}
