package wssec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/wssec"
)

// moveTimestamp moves the Security header's signed Timestamp into a header
// block of its own, where the freshness check used to miss it.
func moveTimestamp(d *etree.Document) {
	ts := find(d, "Timestamp")
	ts.Parent().RemoveChild(ts)
	ts.CreateAttr("xmlns:wsu", nsWSU)
	blk := find(d, "Header").CreateElement("x:Replay")
	blk.CreateAttr("xmlns:x", "urn:attacker")
	blk.AddChild(ts)
}

// encryptInSecurity replaces the Security header's child with the local
// name by an EncryptedData (Type Element) that carries its own
// EncryptedKey for the new key, as WSS4J's EncryptSignature does for the
// ds:Signature. The EncryptedKey has no key reference: trial decryption.
func encryptInSecurity(t testing.TB, msg []byte, local string, alg wssec.DataEncryption) []byte {
	t.Helper()
	return edit(t, msg, func(d *etree.Document) {
		var el *etree.Element
		for _, c := range find(d, "Security").ChildElements() {
			if c.Tag == local {
				el = c
			}
		}
		if el == nil {
			t.Fatalf("encryptInSecurity: no %s", local)
		}
		frag := etree.NewDocument()
		frag.SetRoot(el.Copy())
		frag.WriteSettings.CanonicalEndTags = true
		pt, err := frag.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := xmlenc.LookupCipher(string(alg))
		cek, iv := make([]byte, c.KeySize), make([]byte, c.IVSize)
		rand.Read(cek)
		rand.Read(iv)
		ct, err := xmlenc.EncryptData(string(alg), cek, iv, pt)
		if err != nil {
			t.Fatal(err)
		}
		oaep, _ := xmlenc.ResolveOAEP(xmlenc.RSAOAEPMGF1P, "", "", nil)
		wrapped, err := xmlenc.EncryptKey(rand.Reader, &newID.Key.PublicKey, xmlenc.RSAOAEPMGF1P, oaep, cek)
		if err != nil {
			t.Fatal(err)
		}
		ed := etree.NewElement("xenc:EncryptedData")
		ed.CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
		ed.CreateAttr("Id", "ED-"+local)
		ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
		ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", string(alg))
		ki := ed.CreateElement("ds:KeyInfo")
		ki.CreateAttr("xmlns:ds", nsDS)
		ek := ki.CreateElement("xenc:EncryptedKey")
		ek.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", xmlenc.RSAOAEPMGF1P)
		ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
		ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))
		parent, idx := el.Parent(), el.Index()
		parent.RemoveChildAt(idx)
		parent.InsertChildAt(idx, ed)
	})
}

// decryptSigned decrypts msg with the two-key ring and a trust ring of the
// partner, the clock at t0 plus one minute plus at.
func decryptSigned(t testing.TB, msg []byte, pol wssec.Policy, at time.Duration) (*wssec.Result, error) {
	t.Helper()
	clk := fakeclock.New(t0.Add(time.Minute + at))
	d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: pol, Signers: trustRing(t, clk, receiverID.Certificate)}
	return d.Decrypt(msg)
}

// TestVerify_timestampReplay: only the Security header's own Timestamp
// counts. A signed Timestamp moved elsewhere (where the freshness check
// does not look) is refused in every order of signing and encryption,
// and a Timestamp that only decryption reveals is checked on the
// decrypted tree.
func TestVerify_timestampReplay(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	signed := sign(t, plain, receiverID, signOpts{})
	moved := edit(t, signed, moveTimestamp)
	intoBody := edit(t, signed, func(d *etree.Document) {
		ts := find(d, "Timestamp")
		ts.Parent().RemoveChild(ts)
		ts.CreateAttr("xmlns:wsu", nsWSU)
		find(d, "GetOrderResponse").AddChild(ts)
	})
	hiddenStamp := encryptInSecurity(t, encrypt(t, gcm, signed), "Timestamp", wssec.AES128GCM)
	allowPlain := wssec.Policy{AllowPlaintextBody: true}
	tests := []struct {
		name    string
		msg     []byte
		policy  wssec.Policy
		at      time.Duration
		wantErr error
	}{
		{"sign only, moved, expired", moved, allowPlain, time.Hour, wssec.ErrSignatureInvalid},
		{"sign only, moved, fresh", moved, allowPlain, 0, wssec.ErrSignatureInvalid},
		{"sign only, moved, unsigned Body allowed", moved, wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}, time.Hour, wssec.ErrSignatureInvalid},
		{"sign only, moved into the Body", intoBody, allowPlain, time.Hour, wssec.ErrSignatureInvalid},
		{"sign then encrypt GCM, moved", encrypt(t, gcm, moved), wssec.Policy{}, time.Hour, wssec.ErrSignatureInvalid},
		{"sign then encrypt CBC, moved", encrypt(t, cbc, moved), wssec.Policy{}, time.Hour, wssec.ErrSignatureInvalid},
		{"encrypt then sign, moved", edit(t, sign(t, encrypt(t, gcm, plain), receiverID, signOpts{}), moveTimestamp), wssec.Policy{}, time.Hour, wssec.ErrSignatureInvalid},
		{"Timestamp only readable after decryption, fresh", hiddenStamp, wssec.Policy{}, 0, nil},
		{"Timestamp only readable after decryption, expired", hiddenStamp, wssec.Policy{}, time.Hour, wssec.ErrMessageExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := decryptSigned(t, tc.msg, tc.policy, tc.at)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var got []wssec.PartLocation
			for _, s := range res.Signed {
				got = append(got, s.Location)
			}
			want := []wssec.PartLocation{wssec.LocationBody, wssec.LocationTimestamp}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Signed locations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerify_encryptedSignature: WSS4J's sign-then-encrypt with
// EncryptSignature encrypts the ds:Signature itself. A signature that is
// only present after decryption is verified on the decrypted envelope;
// what it finds there in CBC content is the uniform error.
func TestVerify_encryptedSignature(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	tampered := bytes.Replace(signed, []byte("1234.50"), []byte("9234.50"), 1)
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
	}{
		{"GCM", encryptInSecurity(t, encrypt(t, gcm, signed), "Signature", wssec.AES128GCM), nil},
		{"CBC", encryptInSecurity(t, encrypt(t, cbc, signed), "Signature", wssec.AES128CBC), nil},
		{"GCM, Body changed before encryption", encryptInSecurity(t, encrypt(t, gcm, tampered), "Signature", wssec.AES128GCM), wssec.ErrSignatureInvalid},
		{"CBC, Body changed before encryption", encryptInSecurity(t, encrypt(t, cbc, tampered), "Signature", wssec.AES128CBC), wssec.ErrDecryptionFailed},
		{"GCM, untrusted signer", encryptInSecurity(t, encrypt(t, gcm, sign(t, plain, strangerID, signOpts{})), "Signature", wssec.AES128GCM), wssec.ErrUntrustedSigner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := decryptSigned(t, tc.msg, wssec.Policy{}, 0)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == wssec.ErrDecryptionFailed && err != wssec.ErrDecryptionFailed { //nolint:errorlint // the bare value is the property
				t.Fatalf("Decrypt error = %#v, want the bare uniform error", err)
			}
			if err == nil && (!res.SignedBody() || len(res.Signers) != 1 || res.Decrypted != 2) {
				t.Errorf("Decrypt: SignedBody %v, %d signers, %d decrypted; want true, 1, 2", res.SignedBody(), len(res.Signers), res.Decrypted)
			}
		})
	}
}

// TestVerify_algorithmBeforeDecryption: the signature algorithm of a
// sign-then-encrypt message is readable before decryption, so a refused
// one is ErrAlgorithmNotAllowed there, not the uniform error, and no
// private-key operation is spent.
func TestVerify_algorithmBeforeDecryption(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	for _, o := range []signOpts{{method: rsa1}, {digest: sha1D}, {method: rsa1, digest: sha1D}} {
		for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256GCM} {
			t.Run(fmt.Sprintf("%s/%s/%s", o.method, o.digest, de), func(t *testing.T) {
				t.Parallel()
				msg := encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: de}, sign(t, plain, receiverID, o))
				var ops atomic.Int64
				ring := wssec.NewKeyRing(wssec.Key{Decrypter: countingKey{newID.Key, &ops}, Certificate: newID.Certificate})
				clk := fakeclock.New(t0.Add(time.Minute))
				d := &wssec.Decryptor{Keys: ring, Signers: trustRing(t, clk, receiverID.Certificate)}
				if _, err := d.Decrypt(msg); !errors.Is(err, wssec.ErrAlgorithmNotAllowed) || ops.Load() != 0 {
					t.Fatalf("Decrypt error = %v after %d key operations, want ErrAlgorithmNotAllowed after 0", err, ops.Load())
				}
			})
		}
	}
}

// TestVerify_unsignedFault: with Signers, a SOAP Fault no verified
// signature covers is never a response: it is a *FaultError that carries
// the Fault for diagnostics, also where the policy allows an unsigned
// Body.
func TestVerify_unsignedFault(t *testing.T) {
	t.Parallel()
	fault11 := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><r:Redirect xmlns:r="urn:attacker">https://attacker.example/</r:Redirect></soapenv:Header><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Account locked, see header</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	fault12 := []byte(`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Account locked</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`)
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	allowPlain := wssec.Policy{AllowPlaintextBody: true}
	unsignedOK := wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}
	tests := []struct {
		name       string
		msg        []byte
		policy     wssec.Policy
		wantErr    error
		wantCode   string
		wantReason string
	}{
		{"SOAP 1.1", fault11, allowPlain, wssec.ErrSignatureInvalid, "soapenv:Server", "Account locked, see header"},
		{"SOAP 1.2", fault12, allowPlain, wssec.ErrSignatureInvalid, "env:Receiver", "Account locked"},
		{"unsigned Body allowed", fault11, unsignedOK, wssec.ErrSignatureInvalid, "soapenv:Server", "Account locked, see header"},
		{"encrypted, unsigned Body allowed", encrypt(t, gcm, fault11), wssec.Policy{AllowUnsignedBody: true}, wssec.ErrSignatureInvalid, "soapenv:Server", "Account locked, see header"},
		{"signed", sign(t, fault11, receiverID, signOpts{}), allowPlain, nil, "", ""},
		{"signed and encrypted", encrypt(t, gcm, sign(t, fault11, receiverID, signOpts{})), wssec.Policy{}, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decryptSigned(t, tc.msg, tc.policy, 0)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Decrypt error = %v, want success", err)
				}
				return
			}
			var fe *wssec.FaultError
			if !errors.As(err, &fe) || !errors.Is(err, wssec.ErrUnsignedFault) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decrypt error = %v, want a *FaultError for ErrUnsignedFault and %v", err, tc.wantErr)
			}
			if fe.Code != tc.wantCode || fe.Reason != tc.wantReason || !bytes.Contains(fe.Envelope, []byte("Fault")) {
				t.Errorf("FaultError = {%q, %q, %d bytes}, want {%q, %q, the envelope}", fe.Code, fe.Reason, len(fe.Envelope), tc.wantCode, tc.wantReason)
			}
			if strings.Contains(err.Error(), "locked") {
				t.Errorf("Error() = %q repeats the unauthenticated fault text", err)
			}
		})
	}
}

// TestVerify_signedBodyByIdentity: SignedBody and each part's Location
// are decided by identity in the tree that was verified. The signed Body
// moved into a header, with a forged Body in its place, is not reported as
// a signed Body, even where the policy allows an unsigned Body.
func TestVerify_signedBodyByIdentity(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{extra: []string{"Session"}})
	wrapped := edit(t, signed, func(d *etree.Document) {
		body := find(d, "Body")
		env := body.Parent()
		w := find(d, "Header").CreateElement("x:Wrapper")
		w.CreateAttr("xmlns:x", "urn:attacker")
		env.RemoveChild(body)
		w.AddChild(body)
		env.CreateElement("soapenv:Body").CreateElement("tns:Transfer").SetText("all the money")
	})
	unsignedOK := wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}
	res, err := decryptSigned(t, wrapped, unsignedOK, 0)
	if err != nil {
		t.Fatalf("Decrypt(wrapped, AllowUnsignedBody) error = %v", err)
	}
	if res.SignedBody() {
		t.Errorf("SignedBody() = true for a forged Body")
	}
	for _, s := range res.Signed {
		if s.Location == wssec.LocationBody {
			t.Errorf("Signed part %+v claims to be the Body", s)
		}
	}
	res, err = decryptSigned(t, signed, wssec.Policy{AllowPlaintextBody: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	type part struct {
		Local, Path string
		Location    wssec.PartLocation
	}
	var got []part
	for _, s := range res.Signed {
		got = append(got, part{s.Name.Local, s.Path, s.Location})
	}
	want := []part{
		{"Body", "Envelope/Body", wssec.LocationBody},
		{"Session", "Envelope/Header/Session", wssec.LocationHeaderBlock},
		{"Timestamp", "Envelope/Header/Security/Timestamp", wssec.LocationTimestamp},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Signed parts (-want +got):\n%s", diff)
	}
	if !res.SignedBody() {
		t.Errorf("SignedBody() = false for the signed Body")
	}
}

// TestVerify_referenceCost: SignedInfo's SignatureValue is verified before
// any reference digest, the Signatures of a header are bounded, a
// reference target may be named once, and the bytes canonicalized for one
// message are bounded.
func TestVerify_referenceCost(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	allowPlain := wssec.Policy{AllowPlaintextBody: true}

	// Both the SignatureValue and a digest are wrong: the SignatureValue is
	// what is found, since no digest is computed before it verified.
	signed := sign(t, plain, receiverID, signOpts{})
	both := edit(t, bytes.Replace(signed, []byte("1234.50"), []byte("9234.50"), 1), func(d *etree.Document) {
		v := find(d, "SignatureValue")
		b, _ := base64.StdEncoding.DecodeString(v.Text())
		b[5] ^= 1
		v.SetText(base64.StdEncoding.EncodeToString(b))
	})
	_, err := decryptSigned(t, both, allowPlain, 0)
	var se *wssec.MessageError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "signature value") {
		t.Errorf("Decrypt(bad value and digest) error = %v, want the SignatureValue refused", err)
	}

	// Seventeen Signatures, each a public-key operation before anything
	// else is known.
	many := edit(t, signed, func(d *etree.Document) {
		s := find(d, "Signature")
		for range 16 {
			s.Parent().InsertChildAt(s.Index(), s.Copy())
		}
	})
	if _, err := decryptSigned(t, many, allowPlain, 0); !errors.Is(err, wssec.ErrLimitExceeded) {
		t.Errorf("Decrypt(17 signatures) error = %v, want %v", err, wssec.ErrLimitExceeded)
	}

	// The Body named 63 more times, genuinely signed.
	if _, err := decryptSigned(t, sign(t, plain, receiverID, signOpts{repeatBody: 63}), allowPlain, 0); !errors.Is(err, wssec.ErrMalformed) {
		t.Errorf("Decrypt(Body referenced 64 times) error = %v, want %v", err, wssec.ErrMalformed)
	}

	// 60 nested elements, each referenced, around 256 KiB of text: about
	// 15 MiB to canonicalize for a message of 256 KiB.
	if _, err := decryptSigned(t, nestedSigned(t, 60, 256<<10), allowPlain, 0); !errors.Is(err, wssec.ErrLimitExceeded) {
		t.Errorf("Decrypt(60 nested references) error = %v, want %v", err, wssec.ErrLimitExceeded)
	}
	// The same shape with few references stays within the bound.
	if _, err := decryptSigned(t, nestedSigned(t, 3, 256<<10), allowPlain, 0); err != nil {
		t.Errorf("Decrypt(3 nested references) error = %v", err)
	}
}

// nestedSigned returns a signed response whose Body holds n nested
// elements with Ids around a text of size bytes, each of them referenced.
func nestedSigned(t testing.TB, n, size int) []byte {
	t.Helper()
	var b strings.Builder
	var ids []string
	for i := range n {
		id := fmt.Sprintf("n-%d", i)
		ids = append(ids, id)
		fmt.Fprintf(&b, `<tns:N wsu:Id="%s" xmlns:wsu="%s">`, id, nsWSU)
	}
	b.WriteString(strings.Repeat("x", size))
	for range n {
		b.WriteString("</tns:N>")
	}
	msg := bytes.Replace(readTestdata(t, "response11.xml"), []byte("<tns:Trailer"), []byte("<tns:Trailer"), 1)
	msg = bytes.Replace(msg, []byte("</tns:GetOrderResponse>"), []byte(b.String()+"</tns:GetOrderResponse>"), 1)
	return sign(t, msg, receiverID, signOpts{ids: ids})
}

// TestVerify_largeEncryptThenSign: the canonicalization bound is measured
// on the message as received, where a signature over the encrypted Body
// digests the whole CipherValue, not on the tree the plan reads.
func TestVerify_largeEncryptThenSign(t *testing.T) {
	t.Parallel()
	msg, _ := withElements(t, 1, 2<<20, false)
	signed := sign(t, encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate}, msg), receiverID, signOpts{})
	res, err := decryptSigned(t, signed, wssec.Policy{RequireSignedEncryptedData: true}, 0)
	if err != nil {
		t.Fatalf("Decrypt(%d bytes, encrypt then sign) error = %v", len(signed), err)
	}
	if !res.SignedBody() || res.Decrypted != 1 {
		t.Errorf("Decrypt: SignedBody %v, %d decrypted", res.SignedBody(), res.Decrypted)
	}
}

// TestVerify_cutTextLineEnds: a signature over the encrypted Body is
// verified on the tree read once, with the large CipherValue put back as
// the parser would read it: CR LF line ends in the base64 are LF.
func TestVerify_cutTextLineEnds(t *testing.T) {
	t.Parallel()
	msg, _ := withElements(t, 1, 4<<10, false)
	enc := edit(t, encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate}, msg), func(d *etree.Document) {
		cv := cipherValue(d, "EncryptedData")
		cv.SetText(wrap(cv.Text(), 76))
	})
	signed := sign(t, enc, receiverID, signOpts{})
	crlf := bytes.ReplaceAll(signed, []byte("\n"), []byte("\r\n"))
	for name, m := range map[string][]byte{"LF": signed, "CR LF": crlf} {
		if _, err := decryptSigned(t, m, wssec.Policy{RequireSignedEncryptedData: true}, 0); err != nil {
			t.Errorf("Decrypt(%s) error = %v", name, err)
		}
	}
}

// TestVerify_faultNotEncrypted: with Signers and the default policy, a
// Fault sent in the clear that no verified signature covers is a
// *FaultError that carries the Fault and matches both ErrUnsignedFault
// and ErrNotEncrypted; a signed one is ErrNotEncrypted alone. Decided
// before any private-key operation.
func TestVerify_faultNotEncrypted(t *testing.T) {
	t.Parallel()
	fault := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><r:Redirect xmlns:r="urn:attacker">https://attacker.example/</r:Redirect></soapenv:Header><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Account locked</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	signed := sign(t, fault, receiverID, signOpts{})
	tests := []struct {
		name      string
		msg       []byte
		at        time.Duration
		wantFault bool
	}{
		{"unsigned", fault, 0, true},
		{"signed by a stranger", sign(t, fault, strangerID, signOpts{}), 0, true},
		{"signature broken", bytes.Replace(signed, []byte("Account locked"), []byte("Account closed"), 1), 0, true},
		{"signed, Timestamp expired", signed, 24 * time.Hour, true},
		{"signed", signed, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ops atomic.Int64
			ring := wssec.NewKeyRing(wssec.Key{Decrypter: countingKey{newID.Key, &ops}, Certificate: newID.Certificate})
			clk := fakeclock.New(t0.Add(time.Minute + tc.at))
			d := &wssec.Decryptor{Keys: ring, Signers: trustRing(t, clk, receiverID.Certificate)}
			_, err := d.Decrypt(tc.msg)
			if !errors.Is(err, wssec.ErrNotEncrypted) || ops.Load() != 0 {
				t.Fatalf("Decrypt error = %v after %d key operations, want ErrNotEncrypted after 0", err, ops.Load())
			}
			var fe *wssec.FaultError
			if got := errors.As(err, &fe); got != tc.wantFault || errors.Is(err, wssec.ErrUnsignedFault) != tc.wantFault {
				t.Fatalf("Decrypt error = %v: *FaultError %v, want %v", err, got, tc.wantFault)
			}
			if tc.wantFault && (fe.Code != "soapenv:Server" || !bytes.Contains(fe.Envelope, []byte("attacker.example"))) {
				t.Errorf("FaultError = {%q, %d bytes}, want the Fault and its envelope", fe.Code, len(fe.Envelope))
			}
		})
	}
}
