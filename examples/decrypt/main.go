// Command decrypt shows the heart of a zero-downtime key renewal: a client
// whose key ring holds the new key (current) and the old key (retained)
// decrypts responses that a receiver encrypted to either of them.
//
// It makes two fresh RSA key pairs with self-signed certificates, starts a
// receiver on loopback that encrypts its SOAP responses to whichever
// certificate it was last given, and calls it before and after the
// receiver switches to the new certificate.
//
//	go run ./examples/decrypt
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

const response = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders">
  <soapenv:Body>
    <tns:GetOrderResponse><tns:Order id="o-1"><tns:Total currency="EUR">1234.50</tns:Total></tns:Order></tns:GetOrderResponse>
  </soapenv:Body>
</soapenv:Envelope>`

func main() {
	bits := flag.Int("bits", 2048, "RSA key size")
	calls := flag.Int("calls", 3, "calls before and after the receiver switches keys")
	flag.Parse()
	if err := run(os.Stdout, *bits, *calls); err != nil {
		log.Fatal(err)
	}
}

// newKey makes a key pair with a self-signed encryption certificate.
func newKey(name string, bits int, serial int64) (wssec.Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return wssec.Key{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "tenant.example", Organization: []string{"Example Tenant"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return wssec.Key{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return wssec.Key{}, err
	}
	return wssec.Key{Decrypter: priv, Certificate: cert, Name: name}, nil
}

// receiver is a SOAP endpoint that encrypts every response to the
// certificate it was last given.
type receiver struct {
	cert atomic.Pointer[x509.Certificate]
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	enc := &wssec.Encryptor{Certificate: rc.cert.Load(), KeyIdentifier: wssec.IdentifyByIssuerSerial}
	out, err := enc.Encrypt([]byte(response))
	if err != nil {
		http.Error(w, "encryption failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(out)
}

func run(w io.Writer, bits, calls int) error {
	oldKey, err := newKey("old", bits, 1)
	if err != nil {
		return err
	}
	newK, err := newKey("new", bits, 2)
	if err != nil {
		return err
	}

	// Steps 1 and 2 of a renewal: the new key joins the ring and becomes
	// current; the old one stays, retained with no expiry yet.
	ring := wssec.NewKeyRing(oldKey)
	if err := ring.Rotate(newK); err != nil {
		return err
	}
	d := &wssec.Decryptor{Keys: ring}

	rc := &receiver{}
	rc.cert.Store(oldKey.Certificate)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/orders"

	call := func() error {
		resp, err := http.Post(url, "text/xml", bytes.NewReader([]byte("<request/>")))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("receiver answered %s", resp.Status)
		}
		res, err := d.Decrypt(body)
		if err != nil {
			return err
		}
		if !bytes.Contains(res.Envelope, []byte("1234.50")) {
			return errors.New("decrypted envelope lacks the order total")
		}
		for _, e := range ring.Snapshot() {
			if e.Certificate.Equal(res.KeysUsed[0]) {
				fmt.Fprintf(w, "response of %d bytes decrypted with the %s key (%s)\n", len(body), e.Name, e.Status)
			}
		}
		return nil
	}
	for range calls {
		if err := call(); err != nil {
			return err
		}
	}
	// Steps 3 to 6: the receiver gets the new certificate and switches.
	rc.cert.Store(newK.Certificate)
	fmt.Fprintln(w, "receiver now encrypts to the new certificate")
	for range calls {
		if err := call(); err != nil {
			return err
		}
	}
	for _, e := range ring.Snapshot() {
		fmt.Fprintf(w, "key %s: %s, %d use(s)\n", e.Name, e.Status, e.Uses)
	}
	return nil
}
