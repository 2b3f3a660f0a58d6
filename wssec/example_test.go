package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// loadKey reads a private key and its certificate from one PEM file.
func loadKey(name string) wssec.Key {
	data, err := os.ReadFile("testdata/keys/" + name + ".pem")
	if err != nil {
		log.Fatal(err)
	}
	k := wssec.Key{Name: name}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				log.Fatal(err)
			}
			k.Decrypter = key.(crypto.Decrypter)
		case "CERTIFICATE":
			if k.Certificate, err = x509.ParseCertificate(block.Bytes); err != nil {
				log.Fatal(err)
			}
		}
	}
	return k
}

// A client in the middle of a renewal: the new key is current, the old key
// is retained because receivers may still encrypt to it. Both decrypt.
func ExampleDecryptor_Decrypt() {
	oldKey, newKey := loadKey("old"), loadKey("new")
	ring := wssec.NewKeyRing(newKey)
	if err := ring.Retain(oldKey, time.Time{}); err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Keys: ring}

	response, err := os.ReadFile("testdata/response11.xml")
	if err != nil {
		log.Fatal(err)
	}
	for _, recipient := range []wssec.Key{oldKey, newKey} {
		// What a receiver does: encrypt its response to the certificate
		// it was given.
		encrypted, err := (&wssec.Encryptor{Certificate: recipient.Certificate}).Encrypt(response)
		if err != nil {
			log.Fatal(err)
		}
		res, err := d.Decrypt(encrypted)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("decrypted %d part(s) with the key of serial %s\n", res.Decrypted, res.KeysUsed[0].SerialNumber)
	}
	// Output:
	// decrypted 1 part(s) with the key of serial 4097
	// decrypted 1 part(s) with the key of serial 8193
}

// A message for a key the ring does not hold is refused before any
// private-key operation.
func ExampleDecryptor_Decrypt_noMatchingKey() {
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(loadKey("new"))}
	response, err := os.ReadFile("testdata/response11.xml")
	if err != nil {
		log.Fatal(err)
	}
	encrypted, err := (&wssec.Encryptor{Certificate: loadKey("stranger").Certificate}).Encrypt(response)
	if err != nil {
		log.Fatal(err)
	}
	_, err = d.Decrypt(encrypted)
	fmt.Println(errors.Is(err, wssec.ErrNoMatchingKey))
	// Output: true
}

// The ring's life during a renewal: rotate to the new key, keep the old one
// with no expiry until receivers confirm, then give it an expiry and remove
// it once that has passed.
func ExampleKeyRing_Rotate() {
	oldKey, newKey := loadKey("old"), loadKey("new")
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // a clock the example controls
	ring, err := wssec.NewKeyRingOptions(oldKey, wssec.RingOptions{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	if err := ring.Rotate(newKey); err != nil {
		log.Fatal(err)
	}
	for _, e := range ring.Snapshot() {
		fmt.Printf("%s: %s, expiry set: %v\n", e.Name, e.Status, !e.Expires.IsZero())
	}

	// No expiry yet: a receiver may still encrypt to the old key.
	err = ring.Remove(oldKey.Certificate)
	fmt.Println("remove before confirmation:", errors.Is(err, wssec.ErrRetentionNotElapsed))

	// Every receiver confirmed today: keep the old key 90 more days.
	if err := ring.SetExpiry(oldKey.Certificate, now.AddDate(0, 0, 90)); err != nil {
		log.Fatal(err)
	}
	now = now.AddDate(0, 0, 89)
	var re *wssec.KeyError
	if errors.As(ring.Remove(oldKey.Certificate), &re) {
		fmt.Println("remove at day 89: allowed from", re.AllowedAt.Format("2006-01-02"))
	}
	now = now.AddDate(0, 0, 1)
	fmt.Println("remove at day 90:", ring.Remove(oldKey.Certificate), "- keys left:", len(ring.Snapshot()))
	// Output:
	// new: current, expiry set: false
	// old: retained, expiry set: false
	// remove before confirmation: true
	// remove at day 89: allowed from 2026-05-30
	// remove at day 90: <nil> - keys left: 1
}

// Receivers still on RSA-1_5 or 3DES are refused unless the policy names
// the risk it accepts.
func ExamplePolicy() {
	response, err := os.ReadFile("testdata/response12.xml")
	if err != nil {
		log.Fatal(err)
	}
	key := loadKey("new")
	legacy, err := (&wssec.Encryptor{Certificate: key.Certificate, KeyTransport: wssec.RSA15}).Encrypt(response)
	if err != nil {
		log.Fatal(err)
	}
	ring := wssec.NewKeyRing(key)
	_, err = (&wssec.Decryptor{Keys: ring}).Decrypt(legacy)
	fmt.Println("default policy:", errors.Is(err, wssec.ErrAlgorithmNotAllowed))
	_, err = (&wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true}}).Decrypt(legacy)
	fmt.Println("AllowRSA15:", err)
	// Output:
	// default policy: true
	// AllowRSA15: <nil>
}

// A SOAP client gets decryption by giving its http.Client a Transport; the
// receiver here is a test server that encrypts its response.
func ExampleTransport() {
	key := loadKey("new")
	response, err := os.ReadFile("testdata/response11.xml")
	if err != nil {
		log.Fatal(err)
	}
	encrypted, err := (&wssec.Encryptor{Certificate: key.Certificate}).Encrypt(response)
	if err != nil {
		log.Fatal(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(encrypted)
	}))
	defer receiver.Close()

	client := &http.Client{Transport: &wssec.Transport{
		Decryptor: &wssec.Decryptor{Keys: wssec.NewKeyRing(key)},
	}}
	resp, err := client.Post(receiver.URL, "text/xml; charset=utf-8", strings.NewReader("<request/>"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, strings.Contains(string(body), "Jürgen Müller"), strings.Contains(string(body), "EncryptedData"))
	// Output: 200 true false
}

// A partner signs and then encrypts its responses (WSS4J's "Signature
// Encrypt"). The trust ring holds its signing certificate; when the
// partner renews that key, TrustRing.Rotate adds the new certificate
// before it switches and the old one stays retained until its expiry.
func ExampleTrustRing() {
	partnerCert := loadKey("partner").Certificate
	// The message was signed at 07:45:33 UTC; a real client uses time.Now.
	signedAt := time.Date(2026, 11, 26, 7, 45, 33, 0, time.UTC)
	trust, err := wssec.NewTrustRing(partnerCert, wssec.RingOptions{Now: func() time.Time { return signedAt.Add(time.Minute) }})
	if err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(loadKey("new")), Signers: trust}
	response, err := os.ReadFile("testdata/signed-encrypted.xml")
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Decrypt(response)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Body signed:", res.SignedBody(), "by", res.Signers[0].Subject.CommonName, "- decrypted parts:", res.Decrypted)
	// Output: Body signed: true by partner.example - decrypted parts: 1
}

// With signature verification on, a SOAP Fault that no trusted signature
// covers may come from anyone: it is an error that carries the Fault for
// the log, never a response.
func ExampleFaultError() {
	partnerCert := loadKey("partner").Certificate
	trust, err := wssec.NewTrustRing(partnerCert, wssec.RingOptions{})
	if err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{
		Keys:    wssec.NewKeyRing(loadKey("new")),
		Signers: trust,
		// Faults often travel unencrypted; the signature is still required.
		Policy: wssec.Policy{AllowPlaintextBody: true},
	}
	fault := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Account locked</faultstring></soapenv:Fault>` +
		`</soapenv:Body></soapenv:Envelope>`
	_, err = d.Decrypt([]byte(fault))
	var fe *wssec.FaultError
	if errors.As(err, &fe) {
		fmt.Println(errors.Is(err, wssec.ErrUnsignedFault), errors.Is(err, wssec.ErrSignatureInvalid), fe.Code, "-", fe.Reason)
	}
	// Output: true true soapenv:Server - Account locked
}

// The owner of the ring state (such as a key store) hands out a ring that
// decrypts but cannot be changed by those who hold it; only the owner's
// publisher changes it, for every Decryptor at once.
func ExampleRingOptions_publish() {
	oldKey, newKey := loadKey("old"), loadKey("new")
	var replace func(current wssec.Key, retained []wssec.RetainedKey) error
	ring, err := wssec.NewKeyRingOptions(oldKey, wssec.RingOptions{
		Publish: func(f func(wssec.Key, []wssec.RetainedKey) error) { replace = f },
	})
	if err != nil {
		log.Fatal(err)
	}
	err = ring.Rotate(newKey)
	fmt.Println("change by a holder of the ring refused:", errors.Is(err, wssec.ErrReadOnlyRing))

	if err := replace(newKey, []wssec.RetainedKey{{Key: oldKey}}); err != nil {
		log.Fatal(err)
	}
	for _, e := range ring.Snapshot() {
		fmt.Printf("%s: %s\n", e.Name, e.Status)
	}
	// Output:
	// change by a holder of the ring refused: true
	// new: current
	// old: retained
}

// A receiver encrypts its response to the certificate the client handed
// out; here the defaults (RSA-OAEP with SHA-256, AES-256-GCM, the key
// named by issuer and serial) and the options a partner may ask for: each
// child of the Body in its own EncryptedData, the key named by its SKI.
func ExampleEncryptor_Encrypt() {
	key := loadKey("new")
	response, err := os.ReadFile("testdata/response11.xml")
	if err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(key)}
	for _, e := range []*wssec.Encryptor{
		{Certificate: key.Certificate},
		{Certificate: key.Certificate, KeyIdentifier: wssec.IdentifyBySKI, EncryptElement: true},
	} {
		encrypted, err := e.Encrypt(response)
		if err != nil {
			log.Fatal(err)
		}
		res, err := d.Decrypt(encrypted)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("plaintext visible: %v, EncryptedKey: %v, decrypted parts: %d, name back: %v\n",
			strings.Contains(string(encrypted), "Jürgen Müller"), strings.Contains(string(encrypted), "EncryptedKey"),
			res.Decrypted, strings.Contains(string(res.Envelope), "Jürgen Müller"))
	}
	// Output:
	// plaintext visible: false, EncryptedKey: true, decrypted parts: 1, name back: true
	// plaintext visible: false, EncryptedKey: true, decrypted parts: 1, name back: true
}

// DecryptReader reads the message from a stream, such as an HTTP body,
// and stops reading at the policy's size limit: a longer message is
// refused without reading the rest.
func ExampleDecryptor_DecryptReader() {
	key := loadKey("new")
	response, err := os.ReadFile("testdata/response11.xml")
	if err != nil {
		log.Fatal(err)
	}
	encrypted, err := (&wssec.Encryptor{Certificate: key.Certificate}).Encrypt(response)
	if err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(key)}
	res, err := d.DecryptReader(bytes.NewReader(encrypted))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("decrypted parts:", res.Decrypted, "SOAP", res.SOAPVersion)

	small := &wssec.Decryptor{Keys: wssec.NewKeyRing(key), Policy: wssec.Policy{MaxMessageBytes: 1024}}
	_, err = small.DecryptReader(bytes.NewReader(encrypted))
	fmt.Println("over the limit:", errors.Is(err, wssec.ErrLimitExceeded))
	// Output:
	// decrypted parts: 1 SOAP 11
	// over the limit: true
}

// When the partner renews its signing key, the trust ring takes the new
// certificate before the partner switches (Rotate); the old one stays
// trusted, so responses signed before the switch still verify, until the
// operator gives it an expiry and removes it.
func ExampleTrustRing_Rotate() {
	oldCert := loadKey("partner").Certificate
	newCert := loadKey("stranger").Certificate // stands in for the partner's new certificate
	signedAt := time.Date(2026, 11, 26, 7, 45, 33, 0, time.UTC)
	now := signedAt.Add(time.Minute) // a clock the example controls
	trust, err := wssec.NewTrustRing(oldCert, wssec.RingOptions{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(loadKey("new")), Signers: trust}
	response, err := os.ReadFile("testdata/signed-encrypted.xml") // signed with the old certificate
	if err != nil {
		log.Fatal(err)
	}
	verify := func(when string) {
		res, err := d.Decrypt(response)
		if err != nil {
			fmt.Printf("%s: untrusted signer: %v\n", when, errors.Is(err, wssec.ErrUntrustedSigner))
			return
		}
		fmt.Printf("%s: signed by %s\n", when, res.Signers[0].Subject.CommonName)
	}

	if err := trust.Rotate(newCert); err != nil {
		log.Fatal(err)
	}
	for _, e := range trust.Snapshot() {
		fmt.Println(e.Certificate.Subject.CommonName, e.Status)
	}
	verify("after Rotate")

	if err := trust.SetExpiry(oldCert, now); err != nil {
		log.Fatal(err)
	}
	if err := trust.Remove(oldCert); err != nil {
		log.Fatal(err)
	}
	verify("after Remove")
	// Output:
	// stranger.example current
	// partner.example retained
	// after Rotate: signed by partner.example
	// after Remove: untrusted signer: true
}
