package pkcs11_test

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"log"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
	"github.com/wsrenew/wsrenew/wssec"
)

// A store that keeps a new key pair in a SoftHSM2 token: the manifest
// holds the key's URI and certificate, the token the key. The store's
// password is the token's user PIN. (The example needs a token labelled
// "wsrenew", so it is compiled, not run.)
func Example() {
	ctx := context.Background()
	pin := keystore.PasswordEnv("WSRENEW_PIN")
	store, err := keystore.Open(ctx, keystore.Dir("/var/lib/wsrenew/partner-a"), pin, keystore.Options{Tokens: pkcs11.Module{}})
	if err != nil {
		log.Fatal(err)
	}
	u, err := keystore.ParseTokenURI("pkcs11:token=wsrenew;object=tenant-2027?module-path=/usr/lib/softhsm/libsofthsm2.so")
	if err != nil {
		log.Fatal(err)
	}
	// The key pair is made in the token and never leaves it; the store
	// keeps its URI.
	c, err := keystore.GenerateTokenCredential(pkcs11.Module{}, u, pin, pkix.Name{CommonName: "tenant"}, keystore.GenerateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Update(ctx, func(tx *keystore.Tx) error { return tx.Add("tenant-2027", c, nil) }); err != nil {
		log.Fatal(err)
	}
	e, err := store.View().Entry("tenant-2027")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Location)
	for _, t := range []wssec.TransportParams{{KeyTransport: wssec.RSAOAEPMGF1P}, {}} {
		fmt.Println(t.KeyTransport, store.CheckTransport("tenant-2027", t) == nil)
	}
}
