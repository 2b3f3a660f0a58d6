package testpki

import (
	"crypto/rsa"
	"crypto/x509"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bits int
	}{
		{Old, 2048}, {New, 3072}, {Stranger, 2048}, {Receiver, 2048}, {ReceiverNew, 2048}, {CA, 2048}, {Legacy, 1024},
	} {
		id := Load(tc.name)
		if got := id.Key.N.BitLen(); got != tc.bits {
			t.Errorf("Load(%s) key bits = %d, want %d", tc.name, got, tc.bits)
		}
		pub, ok := id.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&id.Key.PublicKey) {
			t.Errorf("Load(%s) certificate does not match key", tc.name)
		}
	}
	ec := Load(ReceiverEC)
	if ec.Key != nil || ec.Signer == nil || ec.Certificate.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("Load(%s) = RSA key %v, signer %T, certificate %v; want an ECDSA identity", ReceiverEC, ec.Key != nil, ec.Signer, ec.Certificate.PublicKeyAlgorithm)
	}
	if _, err := load("missing"); err == nil {
		t.Error("load(missing) error = nil, want an error")
	}
}
