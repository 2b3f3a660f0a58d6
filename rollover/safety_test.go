package rollover_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// A clock behind the renewal's latest recorded time cannot record a
// confirmation in the past: the step is refused, naming both times, and
// the old key keeps no expiry.
func TestConfirmReceiverSwitched_clockBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.clock.Advance(10 * day)
	p := e.toProvided("partner-a")
	provided := e.clock.Now()

	e.clock.Set(t0.Add(day)) // a wrong system clock, or -now in the past
	_, err := p.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "ops", Reference: "OPS-1"})
	var ce *rollover.StageError
	var kce *keystore.Error
	switch {
	case errors.As(err, &ce):
		if !ce.Now.Equal(t0.Add(day)) || !ce.Latest.Equal(provided) {
			t.Errorf("StageError = %+v, want now %v, latest %v", ce, t0.Add(day), provided)
		}
	case errors.As(err, &kce):
		// The store's own check came first (the Manager shares its clock).
		if !kce.Now.Equal(t0.Add(day)) || !kce.Latest.Equal(provided) {
			t.Errorf("keystore.Error = %+v, want now %v, latest %v", kce, t0.Add(day), provided)
		}
	default:
		t.Fatalf("ConfirmReceiverSwitched() with the clock behind error = %v, want a clock error", err)
	}
	old := must(e.store.View().Entry("tenant-2025"))(t)
	if !old.Expires.IsZero() {
		t.Errorf("old key expires %v after a refused confirmation, want no expiry", old.Expires)
	}

	// A Manager with its own clock behind, on a store whose clock is
	// right, gets the Manager's refusal.
	lagging := fakeclock.New(t0.Add(day))
	opts := e.opts
	opts.Now = lagging.Now
	e.clock.Set(provided.Add(time.Hour))
	m := must(rollover.NewManager(e.store, opts))(t)
	stage := as[*rollover.CertificateProvided](t, must(m.Resume(ctx))(t))
	_, err = stage.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "ops", Reference: "OPS-1"})
	if !errors.As(err, &ce) || !errors.Is(err, rollover.ErrClockBehind) {
		t.Fatalf("ConfirmReceiverSwitched() with the Manager's clock behind error = %v, want a *rollover.StageError", err)
	}
	if !ce.Latest.Equal(provided) || ce.Op != "ConfirmReceiverSwitched" {
		t.Errorf("StageError = %+v, want latest %v", ce, provided)
	}

	// With the clock right, the retention runs from the real time.
	lagging.Set(provided.Add(time.Hour))
	sw := as[*rollover.ReceiversSwitched](t, must(stage.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "ops", Reference: "OPS-1"}))(t))
	if want := provided.Add(time.Hour).Add(90 * day); !sw.Report().OldKeyExpires.Equal(want) {
		t.Errorf("Report().OldKeyExpires = %v, want %v", sw.Report().OldKeyExpires, want)
	}
}

// Cancel at step 2 refuses a new key that may be in use: its certificate
// was exported (recorded as provided) or it decrypted a response.
func TestKeyAdded_Cancel_inUse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		why  string // in the refusal's Reason
		use  func(e *env)
	}{
		{"certificate exported", "its certificate was handed out at ", func(e *env) {
			err := e.store.Update(ctx, func(tx *keystore.Tx) error { return tx.MarkProvided("tenant-2027") })
			if err != nil {
				e.t.Fatal(err)
			}
		}},
		{"decrypted, evidence recorded", "it decrypted a response at ", func(e *env) {
			e.receive(testpki.New, "")
			e.record()
			e.restart()
		}},
		{"decrypted in this process", "it decrypted a response at ", func(e *env) {
			e.receive(testpki.New, "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{})
			created := must(as[*rollover.Idle](t, e.resume()).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
			must(created.AddToKeyStore(ctx))(t)
			e.clock.Advance(time.Hour)
			tc.use(e)
			added := as[*rollover.KeyAdded](t, e.resume())
			_, err := added.Cancel(ctx, "changed my mind")
			var se *rollover.StageError
			if !errors.As(err, &se) || !errors.Is(err, rollover.ErrCannotCancel) || errors.Is(err, rollover.ErrStaleStage) {
				t.Fatalf("Cancel() error = %v, want a *rollover.StageError with ErrCannotCancel", err)
			}
			wantKey := "the new key tenant-2027 (" + fingerprint(testpki.New).String() + ") may be in use: "
			if se.Op != "Cancel" || se.Stored != rollover.StageKeyAdded || !strings.HasPrefix(se.Reason, wantKey+tc.why) {
				t.Errorf("StageError = %+v, want a Reason starting %q", se, wantKey+tc.why)
			}
			if diff := cmp.Diff([]string{"tenant-2025:retained", "tenant-2027:current"}, aliases(e.store)); diff != "" {
				t.Errorf("entries after a refused Cancel (-want +got):\n%s", diff)
			}
			e.receive(testpki.New, "")
			e.receive(testpki.Old, "")
			// The renewal goes on with step 3.
			must(as[*rollover.KeyAdded](t, e.resume()).ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(t)
		})
	}
}
