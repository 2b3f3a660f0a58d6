package otelrenewal_test

import (
	"context"
	"errors"
	"log/slog"
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
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/otelrenewal"
	"github.com/wsrenew/wsrenew/wssec"
)

const (
	password = "otelrenewal-store-password-for-tests"
	day      = 24 * time.Hour
)

var (
	ctx = context.Background()
	t0  = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
)

func credential(name string) *keystore.Credential {
	id := testpki.Load(name)
	return &keystore.Credential{Key: id.Key, Certificate: id.Certificate}
}

// pollOnly is the directory backend without notifications, so that the
// test decides when the follower reads the store.
type pollOnly struct {
	keystore.Backend
	keystore.RecordBackend
}

// collect returns the reader's points as "name{attrs}" -> value.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatalf("Collect() error = %v", err)
	}
	key := func(name string, set attribute.Set) string {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, string(a.Key)+"="+a.Value.Emit())
		}
		sort.Strings(kv)
		return name + "{" + strings.Join(kv, ",") + "}"
	}
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Fatalf("metric %s is not monotonic", m.Name)
				}
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			default:
				t.Fatalf("metric %s has unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// TestRegister walks a renewal and checks the gauges at each stage, with
// the SDK's in-memory reader and a live holder.
func TestRegister(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(t0)
	dir := keystore.Dir(filepath.Join(t.TempDir(), "keys"))
	store, err := keystore.Create(ctx, dir, keystore.PasswordValue(password), keystore.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", credential(testpki.Old), nil), tx.Rotate("tenant-2025"))
	}); err != nil {
		t.Fatal(err)
	}
	m, err := rollover.NewManager(store, rollover.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	f, err := keystore.Follow(ctx, pollOnly{dir, dir.(keystore.RecordBackend)}, keystore.PasswordValue(password), keystore.FollowOptions{
		Store: keystore.Options{Now: clk.Now}, HolderID: "replica-a", Host: "host-a",
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	poll := func() { ticks <- time.Time{}; ticks <- time.Time{} }

	reader := sdkmetric.NewManualReader()
	reg, err := otelrenewal.Register(m, store, otelrenewal.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatalf("Register() error = %v", err)
	}
	defer reg.Unregister()

	oldFP := wssec.FingerprintOf(testpki.Load(testpki.Old).Certificate).String()
	newFP := wssec.FingerprintOf(testpki.Load(testpki.New).Certificate).String()
	dueIn := func(name string) float64 {
		return testpki.Load(name).Certificate.NotAfter.Add(-60*day).Sub(clk.Now()).Hours() / 24
	}
	check := func(step string, want map[string]float64) {
		t.Helper()
		if diff := cmp.Diff(want, collect(t, reader)); diff != "" {
			t.Errorf("%s: metrics mismatch (-want +got):\n%s", step, diff)
		}
	}
	heldBy := func(fp string) string {
		return "wsrenew.holder.key{wsrenew.holder=replica-a,wsrenew.key=" + fp + ",wsrenew.self_test=ok}"
	}
	check("idle", map[string]float64{
		"wsrenew.renewal.stage{wsrenew.renewal.stage=idle}": 0,
		"wsrenew.renewal.health{}":                          0,
		"wsrenew.renewal.due_in{}":                          dueIn(testpki.Old),
		"wsrenew.holders.live{}":                            1,
		heldBy(oldFP):                                       1,
	})

	s, err := m.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.(*rollover.Idle).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: credential(testpki.New)})
	if err != nil {
		t.Fatal(err)
	}
	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	poll()
	check("key added", map[string]float64{
		"wsrenew.renewal.stage{wsrenew.renewal.stage=key-added}": 2,
		"wsrenew.renewal.health{}":                               1, // step 3 waits for the operator
		"wsrenew.renewal.due_in{}":                               dueIn(testpki.New),
		"wsrenew.holders.live{}":                                 1,
		heldBy(oldFP):                                            1,
		heldBy(newFP):                                            1,
	})
	provided, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: "partner-a"}}})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(day)
	poll() // a heartbeat: a day without one, the holder is no longer live
	if _, err := provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "bob", Reference: "OPS-1"}); err != nil {
		t.Fatal(err)
	}
	check("receivers switched", map[string]float64{
		"wsrenew.renewal.stage{wsrenew.renewal.stage=receivers-switched}": 6,
		"wsrenew.renewal.health{}":                                        0,
		"wsrenew.renewal.due_in{}":                                        dueIn(testpki.New),
		"wsrenew.renewal.removal.allowed_at{wsrenew.key=" + oldFP + "}":   float64(t0.Add(day + 90*day).Unix()),
		"wsrenew.holders.live{}":                                          1,
		heldBy(oldFP):                                                     1,
		heldBy(newFP):                                                     1,
	})
}

// TestRegister_disabledRefusals checks the counter of messages refused
// because they were encrypted to a disabled key, by key.
func TestRegister_disabledRefusals(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(t0)
	store, err := keystore.Create(ctx, keystore.Dir(filepath.Join(t.TempDir(), "keys")), keystore.PasswordValue(password), keystore.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", credential(testpki.Old), nil), tx.Rotate("tenant-2025"),
			tx.Add("tenant-2027", credential(testpki.New), nil), tx.Rotate("tenant-2027"),
			tx.Retain("tenant-2025", t0.Add(keystore.MinRetention)))
	}); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(keystore.MinRetention))
	if err := store.Update(ctx, func(tx *keystore.Tx) error {
		return tx.Disable("tenant-2025", keystore.DefaultRestoreWindow)
	}); err != nil {
		t.Fatal(err)
	}
	m, err := rollover.NewManager(store, rollover.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	reg, err := otelrenewal.Register(m, store, otelrenewal.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	if err != nil {
		t.Fatalf("Register() error = %v", err)
	}
	defer reg.Unregister()
	refusals := func() map[string]float64 {
		t.Helper()
		out := map[string]float64{}
		for k, v := range collect(t, reader) {
			if strings.HasPrefix(k, otelrenewal.MetricRefusals+"{") {
				out[k] = v
			}
		}
		return out
	}
	if diff := cmp.Diff(map[string]float64{}, refusals()); diff != "" {
		t.Errorf("before a refusal (-want +got):\n%s", diff)
	}

	ring, err := store.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring}
	toOld, err := (&wssec.Encryptor{Certificate: testpki.Load(testpki.Old).Certificate}).Encrypt([]byte(envelope))
	if err != nil {
		t.Fatal(err)
	}
	toNew, err := (&wssec.Encryptor{Certificate: testpki.Load(testpki.New).Certificate}).Encrypt([]byte(envelope))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := dec.Decrypt(toOld)
		if err := m.ObserveRefusal(err); !errors.Is(err, keystore.ErrKeyDisabled) {
			t.Fatalf("ObserveRefusal(Decrypt(to the disabled key)) = %v, want %v", err, keystore.ErrKeyDisabled)
		}
	}
	if _, err := dec.Decrypt(toNew); m.ObserveRefusal(err) != nil {
		t.Fatalf("Decrypt(to the current key) error = %v", err)
	}
	oldFP := wssec.FingerprintOf(testpki.Load(testpki.Old).Certificate).String()
	want := map[string]float64{otelrenewal.MetricRefusals + "{wsrenew.key=" + oldFP + "}": 2}
	if diff := cmp.Diff(want, refusals()); diff != "" {
		t.Errorf("after two refusals (-want +got):\n%s", diff)
	}

	// Restoring the key ends the refusals; the counter keeps its count.
	if err := m.RestoreKey(ctx, "tenant-2025"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, refusals()); diff != "" {
		t.Errorf("after RestoreKey (-want +got):\n%s", diff)
	}
}

const envelope = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><r>ok</r></s:Body></s:Envelope>`

// TestRegister_nil checks the refusal of a nil Manager or store.
func TestRegister_nil(t *testing.T) {
	t.Parallel()
	if _, err := otelrenewal.Register(nil, nil, otelrenewal.Options{}); err == nil {
		t.Error("Register(nil, nil) error = nil, want an error")
	}
}
