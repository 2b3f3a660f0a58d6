package wssec_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wsrenew/wsrenew/wssec"
)

// TestDecryptor_Decrypt_reusedScratch decrypts messages of different
// shapes, sizes and outcomes many times over, in turn and at once, with
// one Decryptor, whose calls reuse each other's memory, and requires
// every result to be the one a fresh Decryptor gives.
func TestDecryptor_Decrypt_reusedScratch(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("<tns:n>", 40) + "x" + strings.Repeat("</tns:n>", 40)
	wide := "<tns:w"
	for i := range 20 {
		wide += fmt.Sprintf(` a%d="%d"`, i, i)
	}
	wide += "/>"
	body := func(content string) []byte {
		return []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders"><soapenv:Body><tns:Response>` + content + `</tns:Response></soapenv:Body></soapenv:Envelope>`)
	}
	gcm := &wssec.Encryptor{Certificate: oldID.Certificate, DataEncryption: wssec.AES256GCM}
	cbc := &wssec.Encryptor{Certificate: oldID.Certificate, DataEncryption: wssec.AES128CBC}
	tampered := encrypt(t, gcm, response("records", 1<<10))
	at := bytes.LastIndex(tampered, []byte("</xenc:CipherValue>")) - 10
	// Another base64 letter: the data stays well-formed and fails
	// authentication.
	if tampered[at] == 'A' {
		tampered[at] = 'B'
	} else {
		tampered[at] = 'A'
	}
	msgs := []struct {
		name string
		msg  []byte
	}{
		{"records GCM", encrypt(t, gcm, response("records", 1<<10))},
		{"records CBC", encrypt(t, cbc, response("records", 1<<10))},
		{"document 64KB", encrypt(t, gcm, response("document", 64<<10))},
		{"records 64KB", encrypt(t, cbc, response("records", 64<<10))},
		{"deeper than the scratch", encrypt(t, gcm, body(deep))},
		{"wider than the scratch", encrypt(t, gcm, body(wide))},
		{"tampered", tampered},
		{"not encrypted", response("records", 1<<10)},
	}
	type outcome struct {
		env []byte
		err error
	}
	want := make([]outcome, len(msgs))
	for i, m := range msgs {
		res, err := (&wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(oldID))}).Decrypt(m.msg)
		want[i].err = err
		if err == nil {
			want[i].env = res.Envelope
		}
	}
	if want[0].err != nil || !errors.Is(want[6].err, wssec.ErrDecryptionFailed) {
		t.Fatalf("fresh Decryptor: records error = %v, tampered error = %v", want[0].err, want[6].err)
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(oldID))}
	// Every result is kept and compared again once all calls returned:
	// nothing a later call does may change an earlier call's envelope.
	type kept struct {
		i   int
		env []byte
	}
	results := make([][]kept, 4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 3 {
				for k := range msgs {
					i := (k + g + round) % len(msgs)
					res, err := d.Decrypt(msgs[i].msg)
					switch {
					case (err == nil) != (want[i].err == nil) || err != nil && err.Error() != want[i].err.Error():
						t.Errorf("%s: Decrypt() error = %v, want %v", msgs[i].name, err, want[i].err)
					case err == nil && !bytes.Equal(res.Envelope, want[i].env):
						t.Errorf("%s: Decrypt() envelope differs from a fresh Decryptor's", msgs[i].name)
					case err == nil:
						results[g] = append(results[g], kept{i, res.Envelope})
					}
				}
			}
		})
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			if !bytes.Equal(r.env, want[r.i].env) {
				t.Errorf("%s: envelope changed after later calls on the same Decryptor", msgs[r.i].name)
			}
		}
	}
}
