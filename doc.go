// Package wsrenew is the root of a library for SOAP clients that receive
// WS-Security encrypted responses and must renew the private key that
// decrypts them without downtime.
//
// The work is split into three packages, each importing only the ones after
// it:
//
//   - [github.com/wsrenew/wsrenew/rollover]: the renewal procedure as typed,
//     persisted steps;
//   - [github.com/wsrenew/wsrenew/keystore]: the persistent, crash-safe key
//     store that holds the keys and the ring state;
//   - [github.com/wsrenew/wsrenew/wssec]: decryption of WS-Security
//     responses with a ring of keys, and an encryptor for receivers and tests.
//
// This package itself holds no code; its tests run the cross-implementation
// vectors in testdata/.
package wsrenew
