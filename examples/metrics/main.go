// Command metrics shows the decryption metrics of package
// wssec/otelmetrics: it makes a key pair with a self-signed certificate,
// decrypts a few responses encrypted to it (and a few that fail), and
// exports the metrics once through OpenTelemetry's stdout exporter as
// JSON. An application uses an OTLP or Prometheus exporter the same way.
//
//	go run ./examples/metrics
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/wsrenew/wsrenew/wssec"
	"github.com/wsrenew/wsrenew/wssec/otelmetrics"
)

const response = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders">
  <soapenv:Body>
    <tns:GetOrderResponse><tns:Order id="o-1"><tns:Total currency="EUR">1234.50</tns:Total></tns:Order></tns:GetOrderResponse>
  </soapenv:Body>
</soapenv:Envelope>`

func main() {
	if err := run(os.Stdout, os.Stderr); err != nil {
		log.Fatal(err)
	}
}

func newKey() (wssec.Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return wssec.Key{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tenant.example"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return wssec.Key{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return wssec.Key{}, err
	}
	return wssec.Key{Decrypter: priv, Certificate: cert, Name: "tenant"}, nil
}

// run decrypts and writes the exported metrics to out, a summary to log.
func run(out, logw io.Writer) error {
	ctx := context.Background()
	exp, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return err
	}
	// The periodic reader exports on Shutdown at the latest; an
	// application keeps the provider for its lifetime.
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	obs, err := otelmetrics.NewObserver(otelmetrics.Options{MeterProvider: provider})
	if err != nil {
		return err
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	ring := wssec.NewKeyRing(key)
	reg, err := obs.RegisterRing("tenant", ring)
	if err != nil {
		return err
	}
	defer reg.Unregister()
	d := &wssec.Decryptor{Keys: ring, Observer: obs}

	msg, err := (&wssec.Encryptor{Certificate: key.Certificate}).Encrypt([]byte(response))
	if err != nil {
		return err
	}
	for range 3 {
		if _, err := d.Decrypt(msg); err != nil {
			return err
		}
	}
	_, err = d.Decrypt([]byte("<not-soap/>"))
	fmt.Fprintf(logw, "decrypted 3 responses; a broken one: %s\n", otelmetrics.Outcome(err))
	return provider.Shutdown(ctx)
}
