package otelmetrics_test

import (
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/wsrenew/wsrenew/wssec"
	"github.com/wsrenew/wsrenew/wssec/otelmetrics"
)

// BenchmarkDecrypt_observer measures what observing costs on a 1 KB
// message: each iteration times one Decrypt without an Observer and one
// with, in alternating order, and reports the median of the per-iteration
// ratios (×bare) and differences (µs), as BenchmarkDecrypt_overhead in
// package wssec pairs its measurements. "sdk" records into the
// OpenTelemetry SDK with a manual reader; "noop" is an Observer built
// with a nil MeterProvider.
func BenchmarkDecrypt_observer(b *testing.B) {
	for _, mode := range []string{"noop", "sdk"} {
		b.Run(mode, func(b *testing.B) {
			ring := wssec.NewKeyRing(keyOf(oldID))
			opts := otelmetrics.Options{}
			if mode == "sdk" {
				opts.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			}
			obs, err := otelmetrics.NewObserver(opts)
			if err != nil {
				b.Fatal(err)
			}
			bare := &wssec.Decryptor{Keys: ring}
			observed := &wssec.Decryptor{Keys: ring, Observer: obs}
			msg := message(b, oldID)
			var ratios, diffs []float64
			for i := 0; b.Loop(); i++ {
				first, second := bare, observed
				if i%2 == 1 {
					first, second = observed, bare
				}
				t0 := time.Now()
				if _, err := first.Decrypt(msg); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := second.Decrypt(msg); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				plain, with := t1.Sub(t0), t2.Sub(t1)
				if i%2 == 1 {
					plain, with = with, plain
				}
				ratios = append(ratios, float64(with)/float64(plain))
				diffs = append(diffs, float64(with-plain)/1e3)
			}
			b.ReportMetric(median(ratios), "×bare")
			b.ReportMetric(median(diffs), "µs")
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}
