// Package otelmetrics exports the metrics of package wssec through the
// OpenTelemetry metric API: decryptions by key and outcome class, their
// latency and size, and the days until each ring key's certificate
// expires.
//
// It is a separate package so that importing wssec does not import
// OpenTelemetry. Metrics are optional: a [wssec.Decryptor] without an
// Observer spends nothing on them, and an [Observer] built with a nil
// MeterProvider records into OpenTelemetry's no-op implementation.
//
//	obs, err := otelmetrics.NewObserver(otelmetrics.Options{MeterProvider: provider})
//	if err != nil { ... }
//	reg, err := obs.RegisterRing("tenant", ring)   // certificate expiry gauges
//	if err != nil { ... }
//	defer reg.Unregister()
//	d := &wssec.Decryptor{Keys: ring, Observer: obs}
//
// # Metrics
//
//	wsrenew.decrypt.count                 counter {decryption}   wsrenew.key, wsrenew.outcome
//	wsrenew.decrypt.duration              histogram s            wsrenew.outcome
//	wsrenew.decrypt.size                  histogram By           wsrenew.outcome
//	wsrenew.key.certificate.days_remaining gauge {day}           wsrenew.ring, wsrenew.key, wsrenew.key.status
//
// wsrenew.key is the key's SHA-256 certificate fingerprint in its one
// printed form ([wssec.Fingerprint.String], as openssl x509 -fingerprint
// -sha256 prints it), or "none" when no key decrypted anything
// (a failure, or a message with nothing encrypted); a call that used
// several keys counts once per key. wsrenew.outcome is one of "ok",
// "no_matching_key", "decryption_failed", "algorithm_not_allowed",
// "key_capability", "malformed", "limit_exceeded", "not_encrypted",
// "signature_invalid", "untrusted_signer", "message_expired",
// "unsigned_fault", "invalid_policy" and "other". wsrenew.ring is the
// name given to [Observer.RegisterRing]; wsrenew.key.status is "current"
// or "retained".
//
// # Security
//
// Attribute values are fingerprints of certificates, outcome classes and
// names the application chose: never key material, plaintext, or
// anything read from a message. The outcome class is what the error
// already says through errors.Is; after the first private-key operation
// every failure is "decryption_failed".
//
// # Concurrency
//
// An Observer is safe for concurrent use. It starts no goroutines; the
// gauge is read by the MeterProvider's reader, when it collects.
package otelmetrics
