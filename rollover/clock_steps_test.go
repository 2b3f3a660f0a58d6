package rollover_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// TestSteps_clockBehind: at every step of the key procedure, a Manager
// whose clock is behind the store's latest recorded time is refused with
// a clock error, and the store is left as it was; a store whose own
// clock is behind refuses the same.
func TestSteps_clockBehind(t *testing.T) {
	t.Parallel()
	steps := []struct {
		name string
		// reach walks to the stage the step starts from, the clock
		// advancing; step runs the step on the stage m resumes.
		reach func(e *env)
		step  func(m *rollover.Manager, st rollover.Stage) error
	}{
		{"ImportKeyPair", func(e *env) {}, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.Idle).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)})
			return err
		}},
		{"AddToKeyStore", func(e *env) {
			must(as[*rollover.Idle](e.t, e.resume()).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
		}, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.KeyPairCreated).AddToKeyStore(ctx)
			return err
		}},
		{"ProvideCertificate", func(e *env) {
			c := must(as[*rollover.Idle](e.t, e.resume()).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
			must(c.AddToKeyStore(ctx))(e.t)
		}, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.KeyAdded).ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")})
			return err
		}},
		{"Cancel at KeyAdded", func(e *env) {
			c := must(as[*rollover.Idle](e.t, e.resume()).CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
			must(c.AddToKeyStore(ctx))(e.t)
		}, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.KeyAdded).Cancel(ctx, "abandoned")
			return err
		}},
		{"ExportCertificate", func(e *env) {}, func(m *rollover.Manager, _ rollover.Stage) error {
			_, err := m.ExportCertificate(ctx, "tenant-2025", "")
			return err
		}},
		{"ConfirmReceiverSwitched", func(e *env) { e.toProvided("partner-a") }, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.CertificateProvided).ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "ops", Reference: "R"})
			return err
		}},
		{"WithdrawConfirmation", func(e *env) { e.toSwitched("partner-a") }, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.ReceiversSwitched).WithdrawConfirmation(ctx, "partner-a", "")
			return err
		}},
		{"RemoveOldKey", func(e *env) { e.toSwitched("partner-a"); e.clock.Advance(400 * day) }, func(_ *rollover.Manager, st rollover.Stage) error {
			_, err := st.(*rollover.ReceiversSwitched).RemoveOldKey(ctx)
			return err
		}},
	}
	for _, tc := range steps {
		for _, storeBehind := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, rollover.Options{})
				e.clock.Advance(10 * day)
				tc.reach(e)
				e.clock.Advance(time.Hour)
				latest := e.store.View().Latest()
				gen := e.store.View().Generation()
				behind := fakeclock.New(latest.Add(-day))
				opts := e.opts
				opts.Now = behind.Now
				storeNow := e.clock.Now
				if storeBehind {
					storeNow = behind.Now
				}
				s := must(keystore.Open(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: storeNow}))(t)
				m := must(rollover.NewManager(s, opts))(t)
				st := must(m.Resume(ctx))(t)
				err := tc.step(m, st)
				if !errors.Is(err, rollover.ErrClockBehind) && !errors.Is(err, keystore.ErrClockBehind) {
					t.Fatalf("%s with the clock a day behind (store too: %v): error = %v, want a clock error", tc.name, storeBehind, err)
				}
				if _, err := s.Reload(ctx); err != nil {
					t.Fatal(err)
				}
				if s.View().Generation() != gen {
					t.Errorf("generation %d after a refused step, want %d", s.View().Generation(), gen)
				}
			})
		}
	}
}
