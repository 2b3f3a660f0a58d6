package otelmetrics_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
	"github.com/wsrenew/wsrenew/wssec/otelmetrics"
)

// ExampleObserver observes a Decryptor and reads the metrics back with
// the SDK's manual reader. In production the provider's reader is an
// exporter, such as OTLP or Prometheus.
func ExampleObserver() {
	id := testpki.Load(testpki.Old)
	ring := wssec.NewKeyRing(wssec.Key{Decrypter: id.Key, Certificate: id.Certificate})

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := otelmetrics.NewObserver(otelmetrics.Options{MeterProvider: provider})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := obs.RegisterRing("tenant", ring)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()
	d := &wssec.Decryptor{Keys: ring, Observer: obs}

	plain, err := os.ReadFile(filepath.Join("..", "testdata", "response11.xml"))
	if err != nil {
		log.Fatal(err)
	}
	msg, err := (&wssec.Encryptor{Certificate: id.Certificate}).Encrypt(plain)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := d.Decrypt(msg); err != nil {
		log.Fatal(err)
	}
	_, err = d.Decrypt([]byte("<not-soap/>"))
	fmt.Println("second call:", otelmetrics.Outcome(err))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name)
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, p := range s.DataPoints {
					k, _ := p.Attributes.Value(otelmetrics.AttrKey)
					o, _ := p.Attributes.Value(otelmetrics.AttrOutcome)
					fmt.Printf("%s key=%s outcome=%s: %d\n", m.Name, k.Emit(), o.Emit(), p.Value)
				}
			}
		}
	}
	sort.Strings(names)
	fmt.Println(names)
	// Unordered output:
	// second call: malformed
	// wsrenew.decrypt.count key=EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF outcome=ok: 1
	// wsrenew.decrypt.count key=none outcome=malformed: 1
	// [wsrenew.decrypt.count wsrenew.decrypt.duration wsrenew.decrypt.size wsrenew.key.certificate.days_remaining]
}
