package wssec_test

import (
	"encoding/xml"
	"errors"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/soap"

	"github.com/wsrenew/wsrenew/wssec"
)

// documented lists every error Decrypt may return.
var documented = []error{
	wssec.ErrMalformed, wssec.ErrLimitExceeded, wssec.ErrAlgorithmNotAllowed,
	wssec.ErrNoMatchingKey, wssec.ErrNotEncrypted, wssec.ErrDecryptionFailed,
	wssec.ErrSignatureInvalid, wssec.ErrUntrustedSigner, wssec.ErrMessageExpired,
	wssec.ErrUnsignedFault,
}

// FuzzDecrypt checks that no input panics, hangs, or yields an error
// outside the documented set. The seed corpus holds messages of every
// layout the encryptor makes plus the committed files in
// testdata/fuzz/FuzzDecrypt.
func FuzzDecrypt(f *testing.F) {
	msg11, msg12 := readTestdata(f, "response11.xml"), readTestdata(f, "response12.xml")
	for _, e := range []wssec.Encryptor{
		{Certificate: oldID.Certificate},
		{Certificate: newID.Certificate, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES128CBC, KeyIdentifier: wssec.IdentifyByDirectReference},
		{Certificate: oldID.Certificate, KeyTransport: wssec.RSA15, DataEncryption: wssec.TripleDESCBC, KeyIdentifier: wssec.IdentifyBySKI, EncryptElement: true},
		{Certificate: newID.Certificate, EmbedEncryptedKey: true, KeyIdentifier: wssec.IdentifyByThumbprintSHA1},
		{Certificate: oldID.Certificate, EncryptHeaders: []xml.Name{{Space: "urn:example:orders", Local: "Session"}}, KeyIdentifier: wssec.IdentifyByX509Certificate},
	} {
		f.Add(encrypt(f, &e, msg11))
		f.Add(encrypt(f, &e, msg12))
	}
	f.Add(msg11)
	signed := sign(f, msg11, receiverID, signOpts{})
	f.Add(signed)
	f.Add(encrypt(f, &wssec.Encryptor{Certificate: newID.Certificate}, signed))
	f.Add(sign(f, encrypt(f, &wssec.Encryptor{Certificate: oldID.Certificate}, msg12), receiverID, signOpts{issuerSerial: true}))
	gcm := &wssec.Encryptor{Certificate: newID.Certificate}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	f.Add(encryptInSecurity(f, encrypt(f, cbc, signed), "Signature", wssec.AES128CBC))
	f.Add(encryptInSecurity(f, encrypt(f, gcm, signed), "Timestamp", wssec.AES128GCM))
	f.Add(edit(f, signed, moveTimestamp))
	f.Add(encrypt(f, cbc, edit(f, signed, moveTimestamp)))
	f.Add(sign(f, msg11, receiverID, signOpts{repeatBody: 2, extra: []string{"Session"}}))
	fault := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	f.Add(fault)
	f.Add(sign(f, fault, receiverID, signOpts{}))
	f.Add(encrypt(f, gcm, fault))
	ring := twoKeyRing(f)
	strict := &wssec.Decryptor{Keys: ring}
	loose := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true, AllowTripleDES: true, AllowPlaintextBody: true, MaxKeyOperations: 2}}
	verifying := &wssec.Decryptor{Keys: ring, Signers: trustRing(f, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate),
		Policy: wssec.Policy{AllowPlaintextBody: true}}
	unsignedOK := &wssec.Decryptor{Keys: ring, Signers: trustRing(f, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate),
		Policy: wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := []*wssec.Decryptor{strict, loose, verifying, unsignedOK}[len(data)%4]
		res, err := d.Decrypt(data)
		if err == nil {
			if res == nil || len(res.Envelope) == 0 {
				t.Fatalf("Decrypt() = %v, nil; want a result", res)
			}
			// What it returns is a well-formed envelope again.
			doc, _, err := soap.Parse(res.Envelope, soap.Limits{})
			if err != nil {
				t.Fatalf("Decrypt(%q) returned an envelope that does not parse: %v\n%s", data, err, res.Envelope)
			}
			// With signatures required, a result has a verified Body; with
			// an unsigned Body allowed, it is never an unsigned Fault.
			if d == verifying && (!res.SignedBody() || len(res.Signers) == 0) {
				t.Fatalf("Decrypt(%q) succeeded without a signed Body", data)
			}
			if d == unsignedOK && !res.SignedBody() {
				env, err := soap.NewEnvelope(doc)
				if err != nil {
					t.Fatalf("Decrypt(%q) returned no SOAP envelope: %v", data, err)
				}
				for _, c := range env.Body.ChildElements() {
					if soap.Is(c, env.NS, "Fault") {
						t.Fatalf("Decrypt(%q) returned an unsigned Fault", data)
					}
					break
				}
			}
			return
		}
		for _, want := range documented {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("Decrypt() error = %v, not a documented error", err)
	})
}
