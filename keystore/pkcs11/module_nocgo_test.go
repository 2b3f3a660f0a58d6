//go:build !cgo

package pkcs11_test

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
)

// tokensBuilt reports whether this build can use PKCS#11 tokens.
const tokensBuilt = false

// TestModule_noCgo checks that a build without cgo refuses token entries
// with ErrTokenUnavailable.
func TestModule_noCgo(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	u := &keystore.TokenURI{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", Token: "t", Object: "k"}
	ctx := context.Background()
	if _, err := generateInToken(ctx, s, nil, "k", pkix.Name{CommonName: "x"}, u, keystore.GenerateOptions{Bits: 2048}); !errors.Is(err, keystore.ErrTokenUnavailable) {
		t.Errorf("GenerateTokenCredential() error = %v, want %v", err, keystore.ErrTokenUnavailable)
	}
	if _, err := importFromToken(ctx, s, "k", u, fixture(testpki.Old).Certificate, nil); !errors.Is(err, keystore.ErrTokenUnavailable) {
		t.Errorf("OpenTokenCredential() error = %v, want %v", err, keystore.ErrTokenUnavailable)
	}
	if _, err := (pkcs11.Module{}).GenerateKey(u, testPassword, 2048); !errors.Is(err, keystore.ErrTokenUnavailable) {
		t.Errorf("Module.GenerateKey() error = %v, want %v", err, keystore.ErrTokenUnavailable)
	}
}
