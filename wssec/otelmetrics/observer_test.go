package otelmetrics_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
	"github.com/wsrenew/wsrenew/wssec/otelmetrics"
)

var (
	oldID      = testpki.Load(testpki.Old)
	newID      = testpki.Load(testpki.New)
	strangerID = testpki.Load(testpki.Stranger)
	t0         = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
)

func keyOf(id testpki.Identity) wssec.Key {
	return wssec.Key{Decrypter: id.Key, Certificate: id.Certificate, Name: id.Name}
}

// setup returns a Decryptor for a ring in renewal (new current, old
// retained) observed by an Observer on an SDK provider with a manual
// reader, the ring registered as "tenant".
func setup(t testing.TB) (*wssec.Decryptor, *sdkmetric.ManualReader, *fakeclock.Clock) {
	t.Helper()
	clk := fakeclock.New(t0)
	ring, err := wssec.NewKeyRingOptions(keyOf(newID), wssec.RingOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Retain(keyOf(oldID), time.Time{}); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	obs, err := otelmetrics.NewObserver(otelmetrics.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)), Now: clk.Now})
	if err != nil {
		t.Fatalf("NewObserver() error = %v", err)
	}
	if _, err := obs.RegisterRing("tenant", ring); err != nil {
		t.Fatalf("RegisterRing() error = %v", err)
	}
	return &wssec.Decryptor{Keys: ring, Observer: obs}, reader, clk
}

func message(t testing.TB, to testpki.Identity) []byte {
	t.Helper()
	plain, err := os.ReadFile(filepath.Join("..", "testdata", "response11.xml"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := (&wssec.Encryptor{Certificate: to.Certificate}).Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// collect returns the points of the reader's metrics as "name{attrs}" ->
// value (count for histograms).
func collect(t testing.TB, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect() error = %v", err)
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			key := func(name string, set attribute.Set) string {
				var kv []string
				for _, a := range set.ToSlice() {
					kv = append(kv, string(a.Key)+"="+a.Value.Emit())
				}
				sort.Strings(kv)
				return name + "{" + strings.Join(kv, ",") + "}"
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Count)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Count)
					out[key(m.Name+".sum", p.Attributes)] = float64(p.Sum)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = p.Value
				}
			default:
				t.Fatalf("metric %s has unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// TestObserver checks every metric against the decryptions made, with the
// SDK's in-memory reader.
func TestObserver(t *testing.T) {
	t.Parallel()
	d, reader, clk := setup(t)
	toOld, toNew, toStranger := message(t, oldID), message(t, newID), message(t, strangerID)
	tampered := append([]byte(nil), toNew...)
	// A CipherValue byte of the EncryptedData: after the key operation.
	i := len(tampered) - 200
	for tampered[i] < 'A' || tampered[i] > 'Z' {
		i--
	}
	tampered[i] ^= 0x20
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
	}{
		{"to the old key", toOld, nil},
		{"to the new key", toNew, nil},
		{"to the new key again", toNew, nil},
		{"to a stranger", toStranger, wssec.ErrNoMatchingKey},
		{"not XML", []byte("<nonsense"), wssec.ErrMalformed},
		{"tampered", tampered, wssec.ErrDecryptionFailed},
	}
	bytesOK := 0
	for _, tc := range tests {
		_, err := d.Decrypt(tc.msg)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
		}
		if err == nil {
			bytesOK += len(tc.msg)
		}
	}
	clk.Advance(10 * 24 * time.Hour)
	oldFP, newFP := wssec.FingerprintOf(oldID.Certificate).String(), wssec.FingerprintOf(newID.Certificate).String()
	daysLeft := func(id testpki.Identity) float64 { return id.Certificate.NotAfter.Sub(clk.Now()).Hours() / 24 }
	want := map[string]float64{
		"wsrenew.decrypt.count{wsrenew.key=" + oldFP + ",wsrenew.outcome=ok}":                                               1,
		"wsrenew.decrypt.count{wsrenew.key=" + newFP + ",wsrenew.outcome=ok}":                                               2,
		"wsrenew.decrypt.count{wsrenew.key=none,wsrenew.outcome=no_matching_key}":                                           1,
		"wsrenew.decrypt.count{wsrenew.key=none,wsrenew.outcome=malformed}":                                                 1,
		"wsrenew.decrypt.count{wsrenew.key=none,wsrenew.outcome=decryption_failed}":                                         1,
		"wsrenew.decrypt.duration{wsrenew.outcome=ok}":                                                                      3,
		"wsrenew.decrypt.duration{wsrenew.outcome=no_matching_key}":                                                         1,
		"wsrenew.decrypt.duration{wsrenew.outcome=malformed}":                                                               1,
		"wsrenew.decrypt.duration{wsrenew.outcome=decryption_failed}":                                                       1,
		"wsrenew.decrypt.size{wsrenew.outcome=ok}":                                                                          3,
		"wsrenew.decrypt.size.sum{wsrenew.outcome=ok}":                                                                      float64(bytesOK),
		"wsrenew.decrypt.size{wsrenew.outcome=no_matching_key}":                                                             1,
		"wsrenew.decrypt.size.sum{wsrenew.outcome=no_matching_key}":                                                         float64(len(toStranger)),
		"wsrenew.decrypt.size{wsrenew.outcome=malformed}":                                                                   1,
		"wsrenew.decrypt.size.sum{wsrenew.outcome=malformed}":                                                               9,
		"wsrenew.decrypt.size{wsrenew.outcome=decryption_failed}":                                                           1,
		"wsrenew.decrypt.size.sum{wsrenew.outcome=decryption_failed}":                                                       float64(len(tampered)),
		"wsrenew.key.certificate.days_remaining{wsrenew.key.status=current,wsrenew.key=" + newFP + ",wsrenew.ring=tenant}":  daysLeft(newID),
		"wsrenew.key.certificate.days_remaining{wsrenew.key.status=retained,wsrenew.key=" + oldFP + ",wsrenew.ring=tenant}": daysLeft(oldID),
	}
	if diff := cmp.Diff(want, collect(t, reader)); diff != "" {
		t.Errorf("collected metrics mismatch (-want +got):\n%s", diff)
	}
}
