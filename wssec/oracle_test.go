package wssec_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// mutateCBC returns msg with the Body's CBC ciphertext changed so that
// the padding fails ("bad-padding"), or so that the padding holds but the
// plaintext is not well-formed XML ("not-well-formed"); "good" leaves it.
func mutateCBC(t testing.TB, msg []byte, how string) []byte {
	t.Helper()
	if how == "good" {
		return msg
	}
	return edit(t, msg, func(d *etree.Document) {
		cv := find(d, "Body").FindElement(".//EncryptedData/CipherData/CipherValue")
		b, err := base64.StdEncoding.DecodeString(cv.Text())
		if err != nil {
			t.Fatal(err)
		}
		switch how {
		case "bad-padding":
			// The last byte of the next-to-last block steers the pad
			// length byte beyond the block size.
			b[len(b)-17] ^= 0x80
		case "not-well-formed":
			// The first IV byte steers the first plaintext byte: a line
			// feed becomes "&", a "<" a control character.
			b[0] ^= 0x2c
		}
		cv.SetText(base64.StdEncoding.EncodeToString(b))
	})
}

// subjectNameRef names the key by X509SubjectName, which the old and new
// keys share: two candidates.
func subjectNameRef(d *etree.Document) {
	ek := find(d, "EncryptedKey")
	ki := ek.SelectElement("KeyInfo")
	for _, c := range ki.ChildElements() {
		ki.RemoveChild(c)
	}
	xd := ki.CreateElement("dsx:X509Data")
	xd.CreateAttr("xmlns:dsx", nsDS)
	xd.CreateElement("dsx:X509SubjectName").SetText("CN=tenant.example,OU=Integration,O=Example Tenant,C=DE")
}

// TestDecrypt_noPlaintextOracle: the number of private-key operations and
// the error never depend on the plaintext. Good, bad-padding and
// not-well-formed CBC ciphertexts cost the same operations, with a key
// reference, by trial decryption and with two candidates for one
// X509SubjectName, with several recipients (a stranger's EncryptedKey
// or one without reference before ours) and through a RetrievalMethod,
// with and without Signers; every failure is exactly
// ErrDecryptionFailed. With Signers and no signature, the message is
// refused before any operation, whatever the ciphertext.
func TestDecrypt_noPlaintextOracle(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	refs := []struct {
		name  string
		edit  func(*etree.Document)
		embed bool // the EncryptedKey in the EncryptedData's KeyInfo
	}{
		{"issuer serial", func(*etree.Document) {}, false},
		{"trial", stripKeyInfo, false},
		{"subject name", subjectNameRef, false},
		{"several recipients, a stranger's key first", func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ek.Parent().InsertChildAt(ek.Index(), forStranger(ek, "EK-stranger"))
		}, true},
		{"several recipients, one without reference first", func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ek.Parent().InsertChildAt(ek.Index(), withoutReference(ek, "EK-trial"))
		}, true},
		{"retrieval method", func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ki := ek.Parent()
			ki.RemoveChild(ek)
			ek.CreateAttr("Id", "EK-moved")
			rm := ki.CreateElement("ds:RetrievalMethod")
			rm.CreateAttr("xmlns:ds", nsDS)
			rm.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#EncryptedKey")
			rm.CreateAttr("URI", "#EK-moved")
			find(d, "Header").AddChild(ek)
		}, true},
	}
	type variant struct {
		ops int64
		err error
	}
	for _, signers := range []string{"none", "signed", "unsigned"} {
		for _, ref := range refs {
			for _, forID := range []testpki.Identity{newID, oldID} {
				name := fmt.Sprintf("%s/%s/for-%s", signers, ref.name, forID.Name)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					src := plain
					if signers == "signed" {
						src = signed
					}
					msg := edit(t, encrypt(t, &wssec.Encryptor{Certificate: forID.Certificate, DataEncryption: wssec.AES128CBC, EmbedEncryptedKey: ref.embed}, src), ref.edit)
					var ops atomic.Int64
					count := func(id testpki.Identity) wssec.Key {
						k := keyOf(id)
						k.Decrypter = countingKey{k.Decrypter, &ops}
						return k
					}
					ring := wssec.NewKeyRing(count(newID))
					if err := ring.Retain(count(oldID), time.Time{}); err != nil {
						t.Fatal(err)
					}
					d := &wssec.Decryptor{Keys: ring}
					if signers != "none" {
						d.Signers = trustRing(t, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate)
					}
					got := map[string]variant{}
					for _, how := range []string{"good", "bad-padding", "not-well-formed"} {
						ops.Store(0)
						_, err := d.Decrypt(mutateCBC(t, msg, how))
						got[how] = variant{ops.Load(), err}
					}
					want := got["good"].ops
					for how, v := range got {
						if v.ops != want {
							t.Errorf("%s: %d key operations, good: %d", how, v.ops, want)
						}
						switch {
						case signers == "unsigned" || signers == "signed" && ref.embed:
							// With the EncryptedKey only in the data's
							// KeyInfo, nothing in the Security header marks
							// the signature as one over plaintext: it is
							// checked on the message as received and fails
							// there, before any key operation.
							if !errors.Is(v.err, wssec.ErrSignatureInvalid) || v.ops != 0 {
								t.Errorf("%s: error = %v after %d operations, want ErrSignatureInvalid before any", how, v.err, v.ops)
							}
						case how == "good":
							if v.err != nil {
								t.Errorf("good: error = %v", v.err)
							}
						case v.err != wssec.ErrDecryptionFailed: //nolint:errorlint // the bare value is the property
							t.Errorf("%s: error = %#v, want exactly ErrDecryptionFailed", how, v.err)
						}
					}
				})
			}
		}
	}
}

// TestDecrypt_rsa15Candidates: an RSA-1_5 unwrap never fails (implicit
// rejection), so with two candidates for one X509SubjectName only an
// AES-GCM tag can show that the first key was wrong. With CBC nothing
// may: the first candidate is the only one used, and a message for the
// second fails with the uniform error.
func TestDecrypt_rsa15Candidates(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	for _, tc := range []struct {
		de      wssec.DataEncryption
		forID   testpki.Identity
		wantOps int64
		wantErr error
	}{
		{wssec.AES128GCM, newID, 1, nil},
		{wssec.AES128GCM, oldID, 2, nil},
		{wssec.AES128CBC, newID, 1, nil},
		{wssec.AES128CBC, oldID, 1, wssec.ErrDecryptionFailed},
	} {
		t.Run(fmt.Sprintf("%s/for-%s", tc.de, tc.forID.Name), func(t *testing.T) {
			t.Parallel()
			e := &wssec.Encryptor{Certificate: tc.forID.Certificate, KeyTransport: wssec.RSA15, DataEncryption: tc.de}
			msg := edit(t, encrypt(t, e, plain), subjectNameRef)
			var ops atomic.Int64
			ring := wssec.NewKeyRing(wssec.Key{Decrypter: countingKey{newID.Key, &ops}, Certificate: newID.Certificate})
			if err := ring.Retain(wssec.Key{Decrypter: countingKey{oldID.Key, &ops}, Certificate: oldID.Certificate}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			_, err := (&wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true}}).Decrypt(msg)
			if err != tc.wantErr || ops.Load() != tc.wantOps { //nolint:errorlint // the bare value is the property
				t.Fatalf("Decrypt error = %v after %d key operations, want %v after %d", err, ops.Load(), tc.wantErr, tc.wantOps)
			}
		})
	}
}
