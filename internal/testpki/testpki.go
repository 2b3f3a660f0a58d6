// Package testpki holds the fixture keys and certificates that tests,
// examples and interoperability vectors share. The files under pki/ were made
// once by generate.sh and are committed, so every run sees the same keys.
//
// Nothing here is secret and nothing here may be used outside tests: the
// private keys are published in the repository.
package testpki

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
	"path"
)

//go:embed pki/*.pem pki/*.key
var files embed.FS

// Names of the fixture identities.
const (
	Old         = "old"          // RSA-2048, the tenant's key before a renewal
	New         = "new"          // RSA-3072, the tenant's key after it, same subject
	Stranger    = "stranger"     // RSA-2048, never in the ring
	Receiver    = "receiver"     // RSA-2048, a partner's signing key
	ReceiverNew = "receiver-new" // RSA-2048, the partner's signing key after its renewal
	ReceiverEC  = "receiver-ec"  // ECDSA P-256, a partner signing with ECDSA
	Legacy      = "legacy"       // RSA-1024, too weak to be current; only ever a retained key
	CA          = "ca"           // the test CA that issued the others
)

// Identity is one fixture key pair with its certificate.
type Identity struct {
	Name string
	// Key is the RSA private key; nil for an ECDSA identity.
	Key *rsa.PrivateKey
	// Signer is the private key of any type.
	Signer      crypto.Signer
	Certificate *x509.Certificate
	KeyPEM      []byte
	CertPEM     []byte
}

// Load returns the named identity. It panics if the fixture is missing or
// broken, which is a bug in the repository, not in the code under test.
func Load(name string) Identity {
	id, err := load(name)
	if err != nil {
		panic(fmt.Sprintf("testpki: %v", err))
	}
	return id
}

func load(name string) (Identity, error) {
	keyPEM, err := files.ReadFile(path.Join("pki", name+".key"))
	if err != nil {
		return Identity{}, err
	}
	certPEM, err := files.ReadFile(path.Join("pki", name+".pem"))
	if err != nil {
		return Identity{}, err
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return Identity{}, fmt.Errorf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: %w", name, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return Identity{}, fmt.Errorf("%s: not a signing key", name)
	}
	rk, _ := k.(*rsa.PrivateKey)
	c, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: %w", name, err)
	}
	return Identity{Name: name, Key: rk, Signer: signer, Certificate: c, KeyPEM: keyPEM, CertPEM: certPEM}, nil
}

// Dir is the path of the fixture directory relative to this package, for
// scripts and tools that need the PEM files themselves.
const Dir = "pki"
