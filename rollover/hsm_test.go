package rollover_test

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// tokenTransport is what SoftHSM2 performs and the receivers of a token
// key are told to use.
var tokenTransport = wssec.TransportParams{KeyTransport: wssec.RSAOAEPMGF1P}

// receiveWith decrypts through the env's live ring a response encrypted
// to cert with transport t, and attributes it to receiver if not empty.
func (e *env) receiveWith(cert *x509.Certificate, t wssec.TransportParams, receiver string) {
	e.t.Helper()
	enc := &wssec.Encryptor{Certificate: cert, KeyTransport: t.KeyTransport, OAEPDigest: t.OAEPDigest, MGF: t.MGF}
	msg, err := enc.Encrypt(sampleResponse(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.decrypt(msg)
	if err != nil {
		e.t.Fatalf("Decrypt(response to %s with %s) error = %v", cert.Subject, t.KeyTransport, err)
	}
	if receiver != "" {
		e.m.Observe(receiver, res)
	}
}

// TestProcedure_token renews from a key in a file to a key in a SoftHSM2
// token and back again, decrypting responses to both keys throughout and
// restarting before every step. Step 3 refuses a receiver whose algorithm
// the token cannot perform.
func TestProcedure_token(t *testing.T) {
	h := interop.RequireSoftHSM(t, testPassword)
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 30 * day}, Actor: "ops"})
	e.tokens = pkcs11.Module{}
	e.restart() // a store adds token keys only with Options.Tokens
	oldCert := load(testpki.Old).Certificate
	oldTransport := wssec.TransportParams{} // the Encryptor's default: RSA-OAEP, SHA-256

	// Step 1: the new key pair is made inside the token.
	u := &keystore.TokenURI{ModulePath: h.Module, Token: h.Token, Object: "rollover-procedure"}
	cred, err := keystore.GenerateTokenCredential(e.tokens, u, keystore.PasswordValue(testPassword), pkix.Name{CommonName: "tenant"}, keystore.GenerateOptions{Bits: 2048, Now: e.clock.Now})
	if errors.Is(err, keystore.ErrTokenUnavailable) {
		t.Skip("built without cgo: no PKCS#11")
	}
	if err != nil {
		t.Fatalf("GenerateTokenCredential() error = %v", err)
	}
	idle := as[*rollover.Idle](t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-hsm", Credential: cred}))(t)
	if en := must(e.store.Entry("tenant-hsm"))(t); !strings.HasPrefix(en.Location, "pkcs11:") {
		t.Fatalf("token entry location = %q, want a pkcs11: URI", en.Location)
	}
	tokenCert := cred.Certificate

	// Step 2.
	e.restart()
	created = as[*rollover.KeyPairCreated](t, e.resume())
	must(created.AddToKeyStore(ctx))(t)
	e.receiveWith(oldCert, oldTransport, "")
	e.receiveWith(tokenCert, tokenTransport, "")

	// Step 3: a receiver on the default RSA-OAEP with SHA-256 is refused,
	// saying why; told to use rsa-oaep-mgf1p, it is accepted.
	e.restart()
	added := as[*rollover.KeyAdded](t, e.resume())
	_, err = added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{
		{ID: "partner-a", Transport: tokenTransport},
		{ID: "partner-b"},
	}})
	var rae *rollover.SelfTestError
	if !errors.As(err, &rae) || rae.Receiver != "partner-b" || !errors.Is(err, rollover.ErrReceiverAlgorithm) || !errors.Is(err, wssec.ErrKeyCapability) {
		t.Fatalf("ProvideCertificate(SHA-256 receiver) error = %v, want a *SelfTestError for partner-b", err)
	}
	if !strings.Contains(err.Error(), "SHA") {
		t.Errorf("error %q does not say which digest", err)
	}
	provided := must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{
		{ID: "partner-a", Transport: tokenTransport},
		{ID: "partner-b", Transport: wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1}},
	}}))(t)
	b := must(provided.Bundle())(t)
	if b.Receivers[0].Transport != tokenTransport || b.Receivers[1].Transport.OAEPDigest != crypto.SHA1 {
		t.Errorf("Bundle().Receivers = %+v, want each receiver's transport", b.Receivers)
	}
	if !strings.Contains(b.String(), "rsa-oaep-mgf1p") {
		t.Errorf("Bundle().String() does not name partner-a's transport:\n%s", b)
	}

	// Steps 4 to 6 under traffic to both keys.
	e.clock.Advance(day)
	e.restart()
	e.receiveWith(tokenCert, tokenTransport, "partner-a")
	e.receiveWith(oldCert, oldTransport, "partner-b")
	provided = as[*rollover.CertificateProvided](t, e.resume())
	b = must(provided.Bundle())(t)
	if b.Receivers[1].Transport.OAEPDigest != crypto.SHA1 {
		t.Errorf("Bundle() after a restart lost partner-b's transport: %+v", b.Receivers[1])
	}
	var s rollover.Stage = provided
	for _, id := range []string{"partner-a", "partner-b"} {
		s = must(as[*rollover.CertificateProvided](t, s).ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: id, By: "admin", Reference: "R-" + id}))(t)
	}
	e.receiveWith(tokenCert, wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1}, "partner-b")

	// Step 7 after the retention.
	e.clock.Advance(91 * day)
	e.restart()
	switched := as[*rollover.ReceiversSwitched](t, e.resume())
	idle = must(switched.RemoveOldKey(ctx))(t)
	e.receiveWith(tokenCert, tokenTransport, "")
	if _, err := e.decrypt(encryptTo(t, oldCert)); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Fatalf("Decrypt(to the removed file key) error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}

	// And back to a key in a file: the token key decrypts until removed.
	e.restart()
	idle = as[*rollover.Idle](t, e.resume())
	created = must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-file", Credential: fixture(testpki.New)}))(t)
	added = must(created.AddToKeyStore(ctx))(t)
	e.receiveWith(tokenCert, tokenTransport, "")
	e.restart()
	added = as[*rollover.KeyAdded](t, e.resume())
	provided = must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(t)
	e.receiveWith(tokenCert, tokenTransport, "partner-a")
	e.receive(testpki.New, "partner-a")
	switched = as[*rollover.ReceiversSwitched](t, must(provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "admin", Reference: "R-2"}))(t))
	e.receiveWith(tokenCert, tokenTransport, "")
	e.clock.Advance(91 * day)
	e.restart()
	switched = as[*rollover.ReceiversSwitched](t, e.resume())
	must(switched.RemoveOldKey(ctx))(t)
	if diff := cmp.Diff([]string{"tenant-hsm:disabled", "tenant-file:current"}, aliases(e.store)); diff != "" {
		t.Fatalf("entries after the renewal back (-want +got):\n%s", diff)
	}
	e.receive(testpki.New, "")
}

// TestKeyAdded_ProvideCertificate_transports checks each receiver's key
// transport against a key in a file: all valid ones pass, and the
// self-test encrypts with each; an invalid one is refused, naming the
// receiver.
func TestKeyAdded_ProvideCertificate_transports(t *testing.T) {
	e := newEnv(t, rollover.Options{})
	idle := as[*rollover.Idle](t, e.resume())
	added := must(must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t).AddToKeyStore(ctx))(t)
	_, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{
		{ID: "partner-a"},
		{ID: "partner-b", Transport: wssec.TransportParams{KeyTransport: "urn:unknown"}},
	}})
	var rae *rollover.SelfTestError
	if !errors.As(err, &rae) || rae.Receiver != "partner-b" || !errors.Is(err, wssec.ErrInvalidPolicy) {
		t.Fatalf("ProvideCertificate(unknown transport) error = %v, want a *SelfTestError for partner-b", err)
	}
	p := must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{
		{ID: "partner-a"},
		{ID: "partner-b", Transport: wssec.TransportParams{KeyTransport: wssec.RSA15}},
		{ID: "partner-c", Transport: wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA512, MGF: crypto.SHA512}},
	}, Policy: wssec.Policy{AllowRSA15: true}}))(t)
	b := must(p.Bundle())(t)
	if b.Receivers[0].Transport != (wssec.TransportParams{}) || b.Receivers[1].Transport.KeyTransport != wssec.RSA15 || b.Receivers[2].Transport.MGF != crypto.SHA512 {
		t.Errorf("Bundle().Receivers = %+v, want each receiver's transport", b.Receivers)
	}
}
