// Package otelrenewal exports the state of a key store's renewal through
// the OpenTelemetry metric API: the stage reached, the health a
// monitoring check would report, when the renewal is due, when the old
// key may be removed, the live holders with the keys they hold, and the
// messages refused because they were encrypted to a disabled key.
// Decryption metrics are in package wssec/otelmetrics.
//
// Every value is read when the MeterProvider's reader collects: the
// callback resumes the [rollover.Manager] (which reloads the key store)
// and lists the holders, so a collection costs one read of the store.
// Nothing is read between collections.
//
//	reg, err := otelrenewal.Register(manager, store, otelrenewal.Options{MeterProvider: provider})
//	if err != nil { ... }
//	defer reg.Unregister()
//
// # Metrics
//
//	wsrenew.renewal.stage               gauge {step}    wsrenew.renewal.stage: 0 idle, 1 key-pair-created, 2 key-added, 3 certificate-provided, 6 receivers-switched
//	wsrenew.renewal.health              gauge           0 ok, 1 warning, 2 critical (rollover.Health)
//	wsrenew.renewal.due_in              gauge {day}     days until a renewal is due; negative once it is
//	wsrenew.renewal.removal.allowed_at  gauge s         Unix time from which the old key may be removed; only once every receiver confirmed; wsrenew.key
//	wsrenew.holders.live                gauge {holder}  live holders of the store's keys
//	wsrenew.holder.key                  gauge {key}     1 per key a live holder has loaded; wsrenew.holder, wsrenew.key, wsrenew.self_test ("ok", "failed")
//	wsrenew.key.disabled.refusals       counter {message}  messages to a disabled key refused in this process (evidence that removal was early); wsrenew.key
//
// wsrenew.key is a certificate fingerprint as
// [wssec.Fingerprint.String] prints it; wsrenew.holder is the
// holder's ID as it registered. No attribute carries key material,
// passwords or message content.
//
// # Concurrency
//
// The registration is safe for concurrent use; it starts no goroutines.
package otelrenewal
