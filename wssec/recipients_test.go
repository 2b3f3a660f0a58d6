package wssec_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// countingRing is the ring of a renewal (new current, old retained) whose
// keys count their private-key operations in ops.
func countingRing(t testing.TB, ops *atomic.Int64) *wssec.KeyRing {
	t.Helper()
	count := func(k wssec.Key) wssec.Key { k.Decrypter = countingKey{k.Decrypter, ops}; return k }
	r := wssec.NewKeyRing(count(keyOf(newID)))
	if err := r.Retain(count(keyOf(oldID)), time.Time{}); err != nil {
		t.Fatal(err)
	}
	return r
}

// forStranger is a copy of ek addressed to the stranger: its key
// reference names the stranger's certificate. Its CipherValue is ek's,
// which the stranger's key could not unwrap; the tests assert that it is
// never tried.
func forStranger(ek *etree.Element, id string) *etree.Element {
	c := ek.Copy()
	c.CreateAttr("Id", id)
	for _, el := range c.FindElements(".//X509SerialNumber") {
		el.SetText(strangerID.Certificate.SerialNumber.String())
	}
	return c
}

// withoutReference is a copy of ek with no key reference at all.
func withoutReference(ek *etree.Element, id string) *etree.Element {
	c := ek.Copy()
	c.CreateAttr("Id", id)
	c.RemoveChild(c.SelectElement("KeyInfo"))
	return c
}

// TestDecrypt_severalRecipients decrypts data addressed to several
// parties, one EncryptedKey each, with the one for a key of the ring,
// wherever it stands, and never touches the others.
func TestDecrypt_severalRecipients(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	embedded := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, EmbedEncryptedKey: true}, plain)
	header := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, plain)
	// inKeyInfo puts the given copies of the EncryptedKey into the
	// EncryptedData's KeyInfo, before (first) or after the original.
	inKeyInfo := func(first bool, copies ...func(*etree.Element, string) *etree.Element) []byte {
		return edit(t, embedded, func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ki := ek.Parent()
			for i, f := range copies {
				c := f(ek, "EK-other-"+string(rune('a'+i)))
				if first {
					ki.InsertChildAt(ek.Index(), c)
				} else {
					ki.AddChild(c)
				}
			}
		})
	}
	// inHeader puts a copy into the Security header, with the same
	// ReferenceList, before or after the original.
	inHeader := func(first bool, f func(*etree.Element, string) *etree.Element) []byte {
		return edit(t, header, func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			c := f(ek, "EK-other")
			if first {
				ek.Parent().InsertChildAt(ek.Index(), c)
			} else {
				ek.Parent().AddChild(c)
			}
		})
	}
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
		wantOps int64
	}{
		{"KeyInfo: stranger first", inKeyInfo(true, forStranger), nil, 1},
		{"KeyInfo: stranger last", inKeyInfo(false, forStranger), nil, 1},
		{"KeyInfo: two strangers and ours", inKeyInfo(true, forStranger, forStranger), nil, 1},
		{"KeyInfo: named key before one without reference", inKeyInfo(true, withoutReference), nil, 1},
		{"KeyInfo: only strangers", edit(t, inKeyInfo(true, forStranger), func(d *etree.Document) {
			ek := d.FindElements("//EncryptedKey")[1]
			ek.Parent().RemoveChild(ek)
		}), wssec.ErrNoMatchingKey, 0},
		{"header: stranger first", inHeader(true, forStranger), nil, 1},
		{"header: stranger last", inHeader(false, forStranger), nil, 1},
		// One standalone ReferenceList shared by EncryptedKeys that have
		// none of their own, and no reference from the data to a key.
		{"header: shared ReferenceList, stranger first", sharedList(t, header, true), nil, 1},
		{"header: shared ReferenceList, stranger last", sharedList(t, header, false), nil, 1},
		{"header: shared ReferenceList, strangers only", edit(t, sharedList(t, header, true), func(d *etree.Document) {
			ek := d.FindElements("//EncryptedKey")[1]
			ek.Parent().RemoveChild(ek)
		}), wssec.ErrNoMatchingKey, 0},
		{"header: keys for different data", edit(t, inHeader(false, forStranger), func(d *etree.Document) {
			d.FindElements("//DataReference")[1].CreateAttr("URI", "#elsewhere")
		}), wssec.ErrMalformed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ops atomic.Int64
			d := &wssec.Decryptor{Keys: countingRing(t, &ops)}
			res, err := d.Decrypt(tc.msg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if ops.Load() != tc.wantOps {
				t.Errorf("Decrypt(%s) did %d private-key operations, want %d", tc.name, ops.Load(), tc.wantOps)
			}
			if err != nil {
				return
			}
			if normalize(t, res.Envelope) != normalize(t, plain) || len(res.KeysUsed) != 1 || !res.KeysUsed[0].Equal(oldID.Certificate) {
				t.Errorf("Decrypt(%s) = %d keys used, envelope:\n%.400s", tc.name, len(res.KeysUsed), res.Envelope)
			}
		})
	}
}

// sharedList rewrites msg, with its EncryptedKey in the Security header,
// into the shape of a sender that addresses two parties with one
// ReferenceList: the key's ReferenceList moves out into the header, the
// EncryptedData's reference to the key goes, and a key for the stranger
// joins, before or after ours.
func sharedList(t *testing.T, msg []byte, strangerFirst bool) []byte {
	return edit(t, msg, func(d *etree.Document) {
		ek := find(d, "EncryptedKey")
		sec := ek.Parent()
		rl := ek.SelectElement("ReferenceList")
		ek.RemoveChild(rl)
		rl.CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
		sec.AddChild(rl)
		ki := find(d, "EncryptedData").SelectElement("KeyInfo")
		ki.Parent().RemoveChild(ki)
		other := forStranger(ek, "EK-other")
		if strangerFirst {
			sec.InsertChildAt(ek.Index(), other)
		} else {
			sec.InsertChildAt(ek.Index()+1, other)
		}
	})
}

// TestDecrypt_retrievalMethod resolves a ds:RetrievalMethod of Type
// EncryptedKey to an EncryptedKey elsewhere in the message, by Id, under
// the same rules as every reference.
func TestDecrypt_retrievalMethod(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	embedded := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, EmbedEncryptedKey: true}, plain)
	const rm = `<ds:RetrievalMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#EK-moved"/>`
	// moveKey moves the EncryptedKey out of the KeyInfo to where place
	// puts it and leaves a RetrievalMethod (rm) in its stead.
	moveKey := func(ref string, place func(d *etree.Document, ek *etree.Element)) []byte {
		return edit(t, embedded, func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ki := ek.Parent()
			ki.RemoveChild(ek)
			ek.CreateAttr("Id", "EK-moved")
			for _, c := range fragment(t, ref) {
				ki.AddChild(c)
			}
			place(d, ek)
		})
	}
	inBody := func(d *etree.Document, ek *etree.Element) {
		body := find(d, "Body")
		body.InsertChildAt(0, ek)
	}
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
	}{
		{"sibling in the Body", moveKey(rm, inBody), nil},
		{"after the data", moveKey(rm, func(d *etree.Document, ek *etree.Element) { find(d, "Body").AddChild(ek) }), nil},
		{"header block", moveKey(rm, func(d *etree.Document, ek *etree.Element) { find(d, "Header").AddChild(ek) }), nil},
		{"in the Security header", moveKey(rm, func(d *etree.Document, ek *etree.Element) {
			sec := find(d, "Header").CreateElement("wsse:Security")
			sec.CreateAttr("xmlns:wsse", nsWSSE)
			sec.AddChild(ek)
		}), nil},
		{"without Type", moveKey(strings.Replace(rm, `Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" `, "", 1), inBody), nil},
		{"dangling", moveKey(strings.Replace(rm, "#EK-moved", "#EK-nowhere", 1), inBody), wssec.ErrMalformed},
		{"Type EncryptedKey naming something else", moveKey(strings.Replace(rm, "#EK-moved", "#s", 1), func(d *etree.Document, ek *etree.Element) {
			inBody(d, ek)
			find(d, "Session").CreateAttr("wsu:Id", "s")
			find(d, "Session").CreateAttr("xmlns:wsu", nsWSU)
		}), wssec.ErrMalformed},
		{"inside a wrapper element of the Body", moveKey(rm, func(d *etree.Document, ek *etree.Element) {
			w := find(d, "Body").CreateElement("x:Wrapper")
			w.CreateAttr("xmlns:x", "urn:x")
			w.AddChild(ek)
		}), nil},
		{"in another actor's Security header", moveKey(rm, func(d *etree.Document, ek *etree.Element) {
			sec := find(d, "Header").CreateElement("wsse:Security")
			sec.CreateAttr("xmlns:wsse", nsWSSE)
			sec.CreateAttr("soapenv:actor", "urn:someone-else")
			sec.AddChild(ek)
		}), wssec.ErrNoMatchingKey},
		{"inside another EncryptedKey", moveKey(rm, func(d *etree.Document, ek *etree.Element) {
			host := ek.Copy()
			host.CreateAttr("Id", "EK-host")
			host.SelectElement("KeyInfo").AddChild(ek)
			inBody(d, host)
		}), wssec.ErrMalformed},
		{"duplicate Id", moveKey(rm, func(d *etree.Document, ek *etree.Element) {
			inBody(d, ek)
			find(d, "Body").AddChild(ek.Copy())
		}), wssec.ErrMalformed},
		{"by SecurityTokenReference, outside the Security header", moveKey(`<wsse:SecurityTokenReference xmlns:wsse="`+nsWSSE+`"><wsse:Reference URI="#EK-moved"/></wsse:SecurityTokenReference>`, inBody), wssec.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &wssec.Decryptor{Keys: twoKeyRing(t)}
			res, err := d.Decrypt(tc.msg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if strings.Contains(string(res.Envelope), "EncryptedKey") {
				t.Errorf("Decrypt(%s) left the EncryptedKey in the result:\n%s", tc.name, res.Envelope)
			}
			if tc.name == "inside a wrapper element of the Body" {
				return // the empty wrapper stays, as the sender put it there
			}
			if normalize(t, res.Envelope) != normalize(t, plain) {
				t.Errorf("Decrypt(%s) envelope differs from the plaintext:\n%s", tc.name, res.Envelope)
			}
		})
	}
}

// TestDecrypt_rsa15WithoutReference documents what an RSA-1_5
// EncryptedKey without a key reference gets: with one ring key, that key;
// with several, ErrNoMatchingKey before any private-key operation, since
// PKCS#1 v1.5 with implicit rejection cannot tell a wrong key and trying
// them in turn would make the number of operations depend on the
// plaintext.
func TestDecrypt_rsa15WithoutReference(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	noRef := func(to wssec.Key, alg wssec.DataEncryption) []byte {
		msg := encrypt(t, &wssec.Encryptor{Certificate: to.Certificate, KeyTransport: wssec.RSA15, DataEncryption: alg}, plain)
		return edit(t, msg, func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ek.RemoveChild(ek.SelectElement("KeyInfo"))
		})
	}
	pol := wssec.Policy{AllowRSA15: true}
	tests := []struct {
		name    string
		msg     []byte
		keys    int // 1: the old key alone; 2: new current, old retained
		wantErr error
		wantOps int64
	}{
		{"one key", noRef(keyOf(oldID), wssec.AES256GCM), 1, nil, 1},
		{"one key, CBC", noRef(keyOf(oldID), wssec.AES128CBC), 1, nil, 1},
		{"renewal, to the retained key", noRef(keyOf(oldID), wssec.AES256GCM), 2, wssec.ErrNoMatchingKey, 0},
		{"renewal, to the current key", noRef(keyOf(newID), wssec.AES128CBC), 2, wssec.ErrNoMatchingKey, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ops atomic.Int64
			ring := wssec.NewKeyRing(wssec.Key{Decrypter: countingKey{oldID.Key, &ops}, Certificate: oldID.Certificate})
			if tc.keys == 2 {
				ring = countingRing(t, &ops)
			}
			_, err := (&wssec.Decryptor{Keys: ring, Policy: pol}).Decrypt(tc.msg)
			var ke *wssec.KeyError
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) || (err != nil && (!errors.As(err, &ke) || ke.Err != wssec.ErrNoMatchingKey)) {
				t.Fatalf("Decrypt(%s) error = %v, want %v as a *KeyError", tc.name, err, tc.wantErr)
			}
			if ops.Load() != tc.wantOps {
				t.Errorf("Decrypt(%s) did %d private-key operations, want %d", tc.name, ops.Load(), tc.wantOps)
			}
		})
	}
}
