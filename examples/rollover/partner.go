package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/wsrenew/wsrenew/wssec"
)

const response = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders">
  <soapenv:Body><tns:GetOrderResponse><tns:Order id="%d"><tns:Total currency="EUR">%d.50</tns:Total></tns:Order></tns:GetOrderResponse></soapenv:Body>
</soapenv:Envelope>`

// partner is the receiver's SOAP endpoint: it encrypts each response to
// the certificate it was last given.
type partner struct {
	mu     sync.Mutex
	cert   *x509.Certificate
	queued [][]byte // responses encrypted before the switch, delivered first
	n      atomic.Int64
}

func (p *partner) encrypt(cert *x509.Certificate) ([]byte, error) {
	n := p.n.Add(1)
	enc := &wssec.Encryptor{Certificate: cert, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES256GCM}
	return enc.Encrypt(fmt.Appendf(nil, response, n, n))
}

// switchTo makes the partner encrypt to cert from now on. Responses it
// already encrypted to the previous certificate stay queued and go out
// first: that is what the retention of the old key is for.
func (p *partner) switchTo(cert *x509.Certificate, queued int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range queued {
		b, err := p.encrypt(p.cert)
		if err != nil {
			return err
		}
		p.queued = append(p.queued, b)
	}
	p.cert = cert
	return nil
}

func (p *partner) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queued)
}

func (p *partner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	p.mu.Lock()
	var body []byte
	if len(p.queued) > 0 {
		body, p.queued = p.queued[0], p.queued[1:]
	}
	cert := p.cert
	p.mu.Unlock()
	if body == nil {
		var err error
		if body, err = p.encrypt(cert); err != nil {
			http.Error(w, "encryption failed", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(body)
}
