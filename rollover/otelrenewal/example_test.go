package otelrenewal_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/otelrenewal"
)

// ExampleRegister exports the renewal's state of a key store and reads
// it back with the SDK's manual reader. In production the provider's
// reader is an exporter, such as OTLP or Prometheus.
func ExampleRegister() {
	ctx := context.Background()
	now := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC) // a clock the example controls
	clock := func() time.Time { return now }
	tmp, err := os.MkdirTemp("", "otelrenewal-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	store, err := keystore.Create(ctx, keystore.Dir(filepath.Join(tmp, "keys")), keystore.PasswordValue("example-store-password"), keystore.Options{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	id := testpki.Load(testpki.Old)
	if err := store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", &keystore.Credential{Key: id.Key, Certificate: id.Certificate}, nil), tx.Rotate("tenant-2025"))
	}); err != nil {
		log.Fatal(err)
	}
	m, err := rollover.NewManager(store, rollover.Options{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	reg, err := otelrenewal.Register(m, store, otelrenewal.Options{MeterProvider: provider})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch g := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range g.DataPoints {
					lines = append(lines, fmt.Sprintf("%s = %d", m.Name, p.Value))
				}
			case metricdata.Gauge[float64]:
				for _, p := range g.DataPoints {
					lines = append(lines, fmt.Sprintf("%s = %.0f", m.Name, p.Value))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// wsrenew.holders.live = 0
	// wsrenew.renewal.due_in = 7201
	// wsrenew.renewal.health = 0
	// wsrenew.renewal.stage = 0
}
