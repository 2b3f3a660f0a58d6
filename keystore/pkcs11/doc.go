// Package pkcs11 lets a keystore.Store keep private keys in PKCS#11
// tokens (HSMs, smart cards, SoftHSM2). It implements
// [keystore.TokenModule] with crypto11, which needs cgo:
//
//	store, err := keystore.Open(ctx, keystore.Dir(dir), pin, keystore.Options{Tokens: pkcs11.Module{}})
//
// Package keystore itself has no PKCS#11 code, so programs that keep
// their keys in files compile neither cgo nor a PKCS#11 wrapper; only the
// programs that import this package do. Built without cgo, the package
// compiles and every operation fails with a [*keystore.Error] with
// [keystore.ErrTokenUnavailable].
//
// # Security
//
// [Module] loads the shared library that a token URI's module-path names
// into the process: whoever can write a store's manifest chooses code
// that runs in it, so keep the store writable by its owner only.
//
// # Concurrency
//
// A key opened by [Module] decrypts from many goroutines at once, each
// call in a PKCS#11 session of its own from the key's pool
// ([Module.Sessions]); calls beyond the pool wait for a free session.
// Throughput is then the token's: SoftHSM2 computes on this machine's
// processors (and rebuilds its OpenSSL key object for every operation,
// about twice the cost of OpenSSL's RSA operation on a kept key), a
// hardware HSM on its own.
package pkcs11
