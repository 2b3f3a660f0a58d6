package otelmetrics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/wsrenew/wsrenew/wssec"
)

// Instrumentation scope and metric names.
const (
	ScopeName = "github.com/wsrenew/wsrenew/wssec/otelmetrics"

	MetricDecryptCount  = "wsrenew.decrypt.count"
	MetricDecryptTime   = "wsrenew.decrypt.duration"
	MetricDecryptSize   = "wsrenew.decrypt.size"
	MetricCertificateTo = "wsrenew.key.certificate.days_remaining"

	AttrKey       = "wsrenew.key"
	AttrOutcome   = "wsrenew.outcome"
	AttrRing      = "wsrenew.ring"
	AttrKeyStatus = "wsrenew.key.status"
)

// Options configures an [Observer]. The zero value records into
// OpenTelemetry's no-op implementation.
type Options struct {
	// MeterProvider provides the meter. If nil, the no-op provider: the
	// Observer records nothing.
	MeterProvider metric.MeterProvider

	// Now is the clock of the certificate expiry gauge. If nil,
	// time.Now.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Observer records wssec decryptions as OpenTelemetry metrics. It
// implements [wssec.Observer]; set it as a Decryptor's Observer. Build it
// with [NewObserver]; it is safe for concurrent use.
type Observer struct {
	opts     Options
	meter    metric.Meter
	count    metric.Int64Counter
	duration metric.Float64Histogram
	size     metric.Int64Histogram
	days     metric.Float64ObservableGauge
	outcomes map[string]metric.MeasurementOption // per outcome class, built once
}

// NewObserver returns an Observer that records through opts.MeterProvider.
// It returns the OpenTelemetry error, wrapped, if an instrument cannot be
// created.
func NewObserver(opts Options) (*Observer, error) {
	mp := opts.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	o := &Observer{opts: opts, meter: mp.Meter(ScopeName)}
	var err error
	if o.count, err = o.meter.Int64Counter(MetricDecryptCount, metric.WithUnit("{decryption}"),
		metric.WithDescription("Decryptions of WS-Security messages, by key and outcome class.")); err != nil {
		return nil, fmt.Errorf("otelmetrics: %s: %w", MetricDecryptCount, err)
	}
	if o.duration, err = o.meter.Float64Histogram(MetricDecryptTime, metric.WithUnit("s"),
		metric.WithDescription("Time to decrypt and verify one message.")); err != nil {
		return nil, fmt.Errorf("otelmetrics: %s: %w", MetricDecryptTime, err)
	}
	if o.size, err = o.meter.Int64Histogram(MetricDecryptSize, metric.WithUnit("By"),
		metric.WithDescription("Size of the messages given to Decrypt.")); err != nil {
		return nil, fmt.Errorf("otelmetrics: %s: %w", MetricDecryptSize, err)
	}
	if o.days, err = o.meter.Float64ObservableGauge(MetricCertificateTo, metric.WithUnit("{day}"),
		metric.WithDescription("Days until the certificate of each key of a registered ring expires; negative once it has.")); err != nil {
		return nil, fmt.Errorf("otelmetrics: %s: %w", MetricCertificateTo, err)
	}
	o.outcomes = make(map[string]metric.MeasurementOption, len(outcomeClasses)+2)
	for _, c := range append([]string{"ok", "other"}, classNames()...) {
		o.outcomes[c] = metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrOutcome, c)))
	}
	return o, nil
}

// outcomeClasses maps the wssec sentinels to outcome classes, most
// specific first: ErrKeyCapability also matches ErrAlgorithmNotAllowed.
var outcomeClasses = [...]struct {
	err   error
	class string
}{
	{wssec.ErrKeyCapability, "key_capability"},
	{wssec.ErrNoMatchingKey, "no_matching_key"},
	{wssec.ErrDecryptionFailed, "decryption_failed"},
	{wssec.ErrAlgorithmNotAllowed, "algorithm_not_allowed"},
	{wssec.ErrMalformed, "malformed"},
	{wssec.ErrLimitExceeded, "limit_exceeded"},
	{wssec.ErrNotEncrypted, "not_encrypted"},
	{wssec.ErrUnsignedFault, "unsigned_fault"},
	{wssec.ErrSignatureInvalid, "signature_invalid"},
	{wssec.ErrUntrustedSigner, "untrusted_signer"},
	{wssec.ErrMessageExpired, "message_expired"},
	{wssec.ErrInvalidPolicy, "invalid_policy"},
}

func classNames() []string {
	out := make([]string, len(outcomeClasses))
	for i, c := range outcomeClasses {
		out[i] = c.class
	}
	return out
}

// Outcome returns the outcome class of an error of [wssec.Decryptor.Decrypt]:
// "ok" for nil, "other" for an error that matches no wssec sentinel.
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	for _, c := range outcomeClasses {
		if errors.Is(err, c.err) {
			return c.class
		}
	}
	return "other"
}

// ObserveDecrypt records ev. It implements [wssec.Observer].
func (o *Observer) ObserveDecrypt(ev wssec.DecryptEvent) {
	if o == nil {
		return
	}
	ctx := context.Background()
	outcome := Outcome(ev.Err)
	oc := o.outcomes[outcome]
	o.duration.Record(ctx, ev.Duration.Seconds(), oc)
	o.size.Record(ctx, int64(ev.Bytes), oc)
	if len(ev.KeysUsed) == 0 {
		o.count.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrKey, "none"), attribute.String(AttrOutcome, outcome)))
		return
	}
	for _, c := range ev.KeysUsed {
		fp := wssec.FingerprintOf(c)
		o.count.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrKey, fp.String()), attribute.String(AttrOutcome, outcome)))
	}
}

// RegisterRing adds the keys of ring to the certificate expiry gauge,
// under the name given (such as the key store's or the application's
// name; it becomes the wsrenew.ring attribute, so it must not be secret).
// Each collection reads the ring's snapshot as it is then, so keys added
// or removed later are followed. Call Unregister on the result to stop.
// It returns an error for a nil ring or one from OpenTelemetry, wrapped.
func (o *Observer) RegisterRing(name string, ring *wssec.KeyRing) (metric.Registration, error) {
	if o == nil || ring == nil {
		return nil, errors.New("otelmetrics: RegisterRing: nil Observer or ring")
	}
	reg, err := o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		now := o.opts.now()
		for _, e := range ring.Snapshot() {
			if e.Certificate == nil {
				continue
			}
			days := e.Certificate.NotAfter.Sub(now).Hours() / 24
			ob.ObserveFloat64(o.days, days, metric.WithAttributes(
				attribute.String(AttrRing, name),
				attribute.String(AttrKey, e.Fingerprint.String()),
				attribute.String(AttrKeyStatus, e.Status.String())))
		}
		return nil
	}, o.days)
	if err != nil {
		return nil, fmt.Errorf("otelmetrics: RegisterRing: %w", err)
	}
	return reg, nil
}

var _ wssec.Observer = (*Observer)(nil)
