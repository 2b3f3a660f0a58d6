package wssec_test

import (
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// TestVerify_timestampMovedEverywhere: a signed Timestamp moved out of
// the Security header's own children (into the Body, a wrapper inside the
// Security header, or a Security header for another actor, with or
// without a copy left) never lets an expired message pass, in every
// order: sign-only, encrypt-then-sign, sign-then-encrypt with AES-GCM and
// AES-CBC, and with the Signature itself encrypted.
func TestVerify_timestampMovedEverywhere(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	take := func(d *etree.Document) *etree.Element {
		ts := find(d, "Timestamp")
		ts.Parent().RemoveChild(ts)
		ts.CreateAttr("xmlns:wsu", nsWSU)
		return ts
	}
	moves := map[string]func(d *etree.Document){
		"header block": moveTimestamp,
		"body":         func(d *etree.Document) { ts := take(d); find(d, "Body").InsertChildAt(0, ts) },
		"nested in security": func(d *etree.Document) {
			ts := take(d)
			w := find(d, "Security").CreateElement("x:Wrap")
			w.CreateAttr("xmlns:x", "urn:attacker")
			w.AddChild(ts)
		},
		"second security other actor": func(d *etree.Document) {
			ts := take(d)
			s := find(d, "Header").CreateElement("wsse2:Security")
			s.CreateAttr("xmlns:wsse2", nsWSSE)
			s.CreateAttr("xmlns:soapenv", "http://schemas.xmlsoap.org/soap/envelope/")
			s.CreateAttr("soapenv:actor", "urn:other")
			s.AddChild(ts)
		},
		"second security other actor, fresh stamp left": func(d *etree.Document) {
			ts := find(d, "Timestamp").Copy()
			ts.CreateAttr("xmlns:wsu", nsWSU)
			s := find(d, "Header").CreateElement("wsse2:Security")
			s.CreateAttr("xmlns:wsse2", nsWSSE)
			s.CreateAttr("xmlns:soapenv", "http://schemas.xmlsoap.org/soap/envelope/")
			s.CreateAttr("soapenv:actor", "urn:other")
			s.AddChild(ts)
			orig := find(d, "Timestamp")
			orig.Parent().RemoveChild(orig)
		},
	}
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	for mname, mv := range moves {
		for _, order := range []string{"sign", "sign-encrypt-gcm", "sign-encrypt-cbc", "encrypt-sign", "sign-encrypt-encsig"} {
			for _, pol := range []wssec.Policy{{AllowPlaintextBody: true}, {AllowPlaintextBody: true, AllowUnsignedBody: true}} {
				var msg []byte
				switch order {
				case "sign":
					msg = edit(t, sign(t, plain, receiverID, signOpts{}), mv)
				case "sign-encrypt-gcm":
					msg = encrypt(t, gcm, edit(t, sign(t, plain, receiverID, signOpts{}), mv))
				case "sign-encrypt-cbc":
					msg = encrypt(t, cbc, edit(t, sign(t, plain, receiverID, signOpts{}), mv))
				case "encrypt-sign":
					msg = edit(t, sign(t, encrypt(t, gcm, plain), receiverID, signOpts{}), mv)
				case "sign-encrypt-encsig":
					msg = encryptInSecurity(t, encrypt(t, gcm, edit(t, sign(t, plain, receiverID, signOpts{}), mv)), "Signature", wssec.AES256GCM)
				}
				res, err := decryptSigned(t, msg, pol, 24*time.Hour)
				if err == nil {
					t.Errorf("%s / %s / unsignedBody=%v: expired message accepted; signed %v", mname, order, pol.AllowUnsignedBody, res.Signed)
				}
			}
		}
	}
}
