//go:build !cgo

package keystore

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"testing"
)

// tokensBuilt reports whether this build can use PKCS#11 tokens.
const tokensBuilt = false

// TestStore_GenerateInToken_noCgo checks that a build without cgo refuses
// token entries with ErrTokenUnavailable.
func TestStore_GenerateInToken_noCgo(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	u := &TokenURI{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", Token: "t", Object: "k"}
	ctx := context.Background()
	if _, err := s.GenerateInToken(ctx, "k", pkix.Name{CommonName: "x"}, u, GenerateOptions{Bits: 2048}); !errors.Is(err, ErrTokenUnavailable) {
		t.Errorf("GenerateInToken() error = %v, want %v", err, ErrTokenUnavailable)
	}
	if _, err := s.ImportFromToken(ctx, "k", u, fixture("old").Certificate, nil, nil); !errors.Is(err, ErrTokenUnavailable) {
		t.Errorf("ImportFromToken() error = %v, want %v", err, ErrTokenUnavailable)
	}
}
