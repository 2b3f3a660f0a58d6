package otelrenewal

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// Instrumentation scope, metric and attribute names.
const (
	ScopeName = "github.com/wsrenew/wsrenew/rollover/otelrenewal"

	MetricStage       = "wsrenew.renewal.stage"
	MetricHealth      = "wsrenew.renewal.health"
	MetricDueIn       = "wsrenew.renewal.due_in"
	MetricRemovableAt = "wsrenew.renewal.removal.allowed_at"
	MetricHoldersLive = "wsrenew.holders.live"
	MetricHolderKey   = "wsrenew.holder.key"
	MetricRefusals    = "wsrenew.key.disabled.refusals"

	AttrStage    = "wsrenew.renewal.stage"
	AttrKey      = "wsrenew.key"
	AttrHolder   = "wsrenew.holder"
	AttrSelfTest = "wsrenew.self_test"
)

// Options configures [Register]. The zero value records into
// OpenTelemetry's no-op implementation.
type Options struct {
	// MeterProvider provides the meter. If nil, the no-op provider.
	MeterProvider metric.MeterProvider
}

// errNil reports a missing Manager or store.
var errNil = errors.New("otelrenewal: nil Manager or key store")

// Register registers the gauges of the renewal that m runs on store (the
// store m was built with), and the counter of messages refused because
// they were encrypted to a disabled key: the refusals
// [rollover.Manager.ObserveRefusal] or [keystore.Store.CheckRefusal]
// recognised in this process ([keystore.Store.DisabledRefusals]). Call Unregister on the result to stop. It
// returns an error for a nil m or store, or OpenTelemetry's, wrapped. An
// error while collecting (an unreadable store) is returned to the
// reader, which reports it; the gauges then have no value for that
// collection.
func Register(m *rollover.Manager, store *keystore.Store, opts Options) (metric.Registration, error) {
	if m == nil || store == nil {
		return nil, errNil
	}
	mp := opts.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	stage, err := meter.Int64ObservableGauge(MetricStage, metric.WithUnit("{step}"),
		metric.WithDescription("Step of the key renewal reached: 0 idle, 1, 2, 3, or 6 when every receiver confirmed."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricStage, err)
	}
	health, err := meter.Int64ObservableGauge(MetricHealth,
		metric.WithDescription("Health of the key store: 0 ok, 1 warning, 2 critical."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricHealth, err)
	}
	dueIn, err := meter.Float64ObservableGauge(MetricDueIn, metric.WithUnit("{day}"),
		metric.WithDescription("Days until a renewal of the current key is due; negative once it is."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricDueIn, err)
	}
	removable, err := meter.Int64ObservableGauge(MetricRemovableAt, metric.WithUnit("s"),
		metric.WithDescription("Unix time from which the old key may be removed (step 7)."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricRemovableAt, err)
	}
	live, err := meter.Int64ObservableGauge(MetricHoldersLive, metric.WithUnit("{holder}"),
		metric.WithDescription("Live holders (processes following the key store)."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricHoldersLive, err)
	}
	held, err := meter.Int64ObservableGauge(MetricHolderKey, metric.WithUnit("{key}"),
		metric.WithDescription("1 for each key a live holder has loaded, with its self-test result."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricHolderKey, err)
	}
	refused, err := meter.Int64ObservableCounter(MetricRefusals, metric.WithUnit("{message}"),
		metric.WithDescription("Messages refused because they were encrypted to a disabled key: evidence that its removal was early."))
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %s: %w", MetricRefusals, err)
	}
	cb := func(ctx context.Context, o metric.Observer) error {
		// This process's count, read first: it needs no I/O, so a store
		// that cannot be read does not hide the evidence.
		for fp, n := range store.DisabledRefusals() {
			o.ObserveInt64(refused, int64(n), metric.WithAttributes(attribute.String(AttrKey, fp.String())))
		}
		s, err := m.Resume(ctx)
		if err != nil {
			return fmt.Errorf("otelrenewal: %w", err)
		}
		r := s.Report()
		o.ObserveInt64(stage, stepOf(r.Stage), metric.WithAttributes(attribute.String(AttrStage, string(r.Stage))))
		o.ObserveInt64(health, int64(r.Health))
		if !r.RenewalDueAt.IsZero() {
			o.ObserveFloat64(dueIn, r.RenewalDueAt.Sub(r.Time).Hours()/24)
		}
		if !r.RemovableAt.IsZero() && r.Old != nil {
			o.ObserveInt64(removable, r.RemovableAt.Unix(), metric.WithAttributes(attribute.String(AttrKey, r.Old.Fingerprint.String())))
		}
		hs, err := store.Holders(ctx)
		if errors.Is(err, keystore.ErrNoRecords) {
			return nil // a backend without holders
		}
		if err != nil {
			return fmt.Errorf("otelrenewal: %w", err)
		}
		o.ObserveInt64(live, int64(len(hs)))
		for _, h := range hs {
			observe := func(key, result string) {
				o.ObserveInt64(held, 1, metric.WithAttributes(
					attribute.String(AttrHolder, h.ID),
					attribute.String(AttrKey, key),
					attribute.String(AttrSelfTest, result)))
			}
			for _, fp := range h.Keys {
				observe(fp.String(), "ok")
			}
			for fp := range h.Failed {
				observe(fp.String(), "failed")
			}
		}
		return nil
	}
	reg, err := meter.RegisterCallback(cb, stage, health, dueIn, removable, live, held, refused)
	if err != nil {
		return nil, fmt.Errorf("otelrenewal: %w", err)
	}
	return reg, nil
}

// stepOf returns the step a stage has reached.
func stepOf(s rollover.StageName) int64 {
	switch s {
	case rollover.StageKeyPairCreated:
		return 1
	case rollover.StageKeyAdded:
		return 2
	case rollover.StageCertificateProvided:
		return 3
	case rollover.StageReceiversSwitched:
		return 6
	}
	return 0
}
