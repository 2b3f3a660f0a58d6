package main

import (
	"context"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
)

// TestTokenKeys creates, shows, cancels and imports a key in a SoftHSM2
// token with -pkcs11, and checks that status says where each key lives.
func TestTokenKeys(t *testing.T) {
	h := interop.RequireSoftHSM(t, testPassword)
	if _, err := keystore.OpenTokenCredential(pkcs11.Module{}, &keystore.TokenURI{ModulePath: h.Module, Token: h.Token, Object: "x"}, keystore.PasswordValue(testPassword), nil, nil); errors.Is(err, keystore.ErrTokenUnavailable) {
		t.Skip("built without cgo: no PKCS#11")
	}
	k := newTool(t)
	k.initFixture()
	uri := "pkcs11:token=" + h.Token + ";object=keyadmin-test?module-path=" + h.Module

	k.want(exitUsage, t0, []string{"create", "-alias", "tenant-hsm", "-pkcs11", "pkcs11:token=x"}, "-pkcs11:", "module-path")
	k.want(exitOK, t0, []string{"create", "-alias", "tenant-hsm", "-bits", "2048", "-pkcs11", uri},
		"generated key pair tenant-hsm in the PKCS#11 token", "key in: PKCS#11 token "+h.Token)
	k.want(exitOK, t0, args("status"), "KEY IN", "tenant-2025", "file", "tenant-hsm", "token "+h.Token)
	k.want(exitOK, t0, args("show -alias tenant-hsm"), "key in: PKCS#11 token", "decrypts: rsa-1_5, rsa-oaep-mgf1p, rsa-oaep-sha1\n")
	k.want(exitOK, t0, args("show -alias tenant-2025"), "key in: a PKCS#12 file", "decrypts: rsa-1_5, rsa-oaep, rsa-oaep-mgf1p, rsa-oaep-sha1, rsa-oaep-sha256, rsa-oaep-sha512\n")

	// Import the same token key again, with its certificate, after
	// cancelling the renewal that created it.
	s, err := keystore.Open(context.Background(), keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.Options{Tokens: pkcs11.Module{}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.View().Entry("tenant-hsm")
	if err != nil {
		t.Fatal(err)
	}
	certFile := k.file("hsm.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.Certificate.Raw}))
	k.want(exitOK, t0, args("cancel -reason test"))
	k.want(exitUsage, t0, []string{"import", "-alias", "tenant-hsm2", "-pkcs11", uri}, "-cert FILE")
	k.want(exitOK, t0, []string{"import", "-alias", "tenant-hsm2", "-pkcs11", uri, "-cert", certFile},
		"imported key pair tenant-hsm2 from the PKCS#11 token")
	k.want(exitOK, t0, args("add"), "tenant-hsm2 is the current key")
	k.want(exitOK, t0, args("show -alias tenant-hsm2"), "current", "key in: PKCS#11 token")

	// Step 3 refuses a receiver on RSA-OAEP with SHA-256, saying why, and
	// accepts it on rsa-oaep-mgf1p.
	k.want(exitFailure, t0, []string{"provide", "-receiver", "orders", "-to-dir", k.tmp + "/out"}, "orders", "cannot perform")
	k.want(exitUsage, t0, []string{"provide", "-receiver", "orders", "-transport", "billing=rsa-oaep-mgf1p", "-to-dir", k.tmp + "/out"}, "not a -receiver")
	k.want(exitOK, t0, []string{"provide", "-receiver", "orders", "-transport", "orders=rsa-oaep-mgf1p", "-to-dir", k.tmp + "/out"}, "step 3 done")
}
