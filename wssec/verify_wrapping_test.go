package wssec_test

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// TestVerify_signedBodyWrappingVariants: under AllowUnsignedBody, no
// placement of the signed Body beside a forged one makes the result
// report the forged Body as signed — signed Body in a header block, in
// the Security header, inside the forged Body, after it, with the forged
// Body carrying the signed one's Id — also when the forgery is then
// encrypted to the receiver (GCM and CBC), so that the tree verified is
// the decrypted one.
func TestVerify_signedBodyWrappingVariants(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	forge := func(place func(d *etree.Document, body, forged *etree.Element)) []byte {
		return edit(t, signed, func(d *etree.Document) {
			body := find(d, "Body")
			env := body.Parent()
			env.RemoveChild(body)
			forged := env.CreateElement(body.Space + ":Body")
			forged.CreateElement("tns:Transfer").SetText("all the money")
			place(d, body, forged)
		})
	}
	wrapper := func(parent *etree.Element, body *etree.Element) {
		w := parent.CreateElement("x:Wrapper")
		w.CreateAttr("xmlns:x", "urn:attacker")
		w.AddChild(body)
	}
	variants := map[string][]byte{
		"header block":       forge(func(d *etree.Document, body, _ *etree.Element) { wrapper(find(d, "Header"), body) }),
		"Security header":    forge(func(d *etree.Document, body, _ *etree.Element) { wrapper(find(d, "Security"), body) }),
		"inside forged Body": forge(func(_ *etree.Document, body, forged *etree.Element) { wrapper(forged, body) }),
		"forged Body with the Id": forge(func(d *etree.Document, body, forged *etree.Element) {
			for _, a := range body.Attr {
				forged.CreateAttr(a.FullKey(), a.Value)
			}
			wrapper(find(d, "Header"), body)
		}),
		"signed Body directly in Header": forge(func(d *etree.Document, body, _ *etree.Element) { find(d, "Header").AddChild(body) }),
	}
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	for name, msg := range variants {
		for _, enc := range []string{"clear", "gcm", "cbc"} {
			m := msg
			switch enc {
			case "gcm":
				m = encrypt(t, gcm, msg)
			case "cbc":
				m = encrypt(t, cbc, msg)
			}
			res, err := decryptSigned(t, m, wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}, 0)
			if err != nil {
				t.Logf("%s/%s: %v", name, enc, err)
				continue // refused: fine
			}
			if res.SignedBody() {
				t.Errorf("%s/%s: SignedBody() = true for a forged Body", name, enc)
			}
			for _, s := range res.Signed {
				if s.Location == wssec.LocationBody {
					t.Errorf("%s/%s: part %+v claims to be the Body", name, enc, s)
				}
			}
		}
	}
}
