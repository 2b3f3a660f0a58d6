package keystore

import (
	"crypto/rand"
	"io"
	"time"
)

// Options configures a [Store]. The zero value is the default. A Store
// copies its Options when it is opened; changing them afterwards has no
// effect.
type Options struct {
	// Now is the clock for creation times, for the retention check when a
	// retained key is removed, and for the key ring's usage times. If nil,
	// time.Now.
	Now func() time.Time

	// Rand is the source of the randomness the store draws itself: salts
	// and IVs of the PKCS#12 files it writes, and serial numbers of the
	// certificates it generates. If nil, crypto/rand.Reader. Key
	// generation always uses the operating system's generator, whatever
	// Rand is.
	Rand io.Reader

	// Tokens opens the keys of entries that live in a PKCS#11 token
	// ([GenerateTokenCredential], [OpenTokenCredential]). If nil, the
	// store has no PKCS#11 support: opening a store with a token entry,
	// and adding a token key, fail with a [*Error]
	// with [ErrTokenUnavailable] that names this field. Set it to
	// pkcs11.Module{} from package keystore/pkcs11 to use tokens; the
	// module loads the shared library each entry's URI names.
	Tokens TokenModule

	// AllowWeakRetainedKey lets the store keep an RSA key of 1024 to 2047
	// bits that is in use today, so that a renewal can move away from it:
	// such a key may be added ([Tx.Add]) and made the current key of a
	// store that has none yet, and a manifest holding one opens; the key
	// ring keeps it as a retained key
	// ([wssec.RingOptions.AllowWeakRetainedKey]) once a new key is current.
	// A weak key never becomes current again ([Tx.Rotate]), no key of under
	// 2048 bits is generated, and while a weak key is the current key the
	// store has no key ring ([Store.KeyRing]): renew it at once. If false
	// (the default), every key needs 2048 bits, and a manifest naming a
	// weaker key does not open. A 1024-bit RSA key is within reach of a
	// well-funded attacker who factors it and then reads every message
	// ever encrypted to it; keep such a key only for its retention period.
	AllowWeakRetainedKey bool
}

func (o *Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o *Options) rand() io.Reader {
	if o.Rand == nil {
		return rand.Reader
	}
	return o.Rand
}
