package wssec

import (
	"crypto/x509"
	"time"
)

// Observer receives one [DecryptEvent] per call of [Decryptor.Decrypt]
// (and [Decryptor.DecryptReader], [Transport]), for metrics. It is called
// synchronously, after the decryption, on the caller's goroutine: it must
// be fast and safe for concurrent use. A nil Observer costs nothing: no
// clock is read and no event is built. Package otelmetrics adapts it to
// OpenTelemetry.
type Observer interface {
	ObserveDecrypt(DecryptEvent)
}

// DecryptEvent describes one finished decryption. It holds no message
// content and no key material.
type DecryptEvent struct {
	// Bytes is the size of the message.
	Bytes int
	// Duration is how long the call took, measured with the key ring's
	// clock ([RingOptions.Now]).
	Duration time.Duration
	// KeysUsed are the certificates of the keys that decrypted something,
	// as in [Result.KeysUsed]; nil if the call failed or nothing was
	// encrypted. The slice must not be modified.
	KeysUsed []*x509.Certificate
	// Err is the error the call returned, nil on success. Classify it
	// with [errors.Is] against this package's sentinels; after the first
	// private-key operation it is [ErrDecryptionFailed] and nothing more.
	Err error
}

// observe runs decrypt and reports it to d.Observer.
func (d *Decryptor) observe(message []byte, decrypt func([]byte) (*Result, error)) (*Result, error) {
	start := d.Keys.clock()
	res, err := decrypt(message)
	ev := DecryptEvent{Bytes: len(message), Duration: d.Keys.clock().Sub(start), Err: err}
	if res != nil {
		ev.KeysUsed = res.KeysUsed
	}
	d.Observer.ObserveDecrypt(ev)
	return res, err
}
