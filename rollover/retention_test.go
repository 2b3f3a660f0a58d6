package rollover_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// processWith returns a Manager of another Store of the env's directory
// whose Policy is p, as an operator's tool or another application
// configured differently has.
func (e *env) processWith(p rollover.Policy) *rollover.Manager {
	e.t.Helper()
	s, err := keystore.Open(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: e.clock.Now})
	if err != nil {
		e.t.Fatalf("keystore.Open() error = %v", err)
	}
	opts := e.opts
	opts.Policy = p
	return must(rollover.NewManager(s, opts))(e.t)
}

// confirmWith has m record the confirmation of partner-a, the only
// receiver, and returns the stage and the confirmation's time.
func confirmWith(t *testing.T, m *rollover.Manager) (*rollover.ReceiversSwitched, time.Time) {
	t.Helper()
	p := as[*rollover.CertificateProvided](t, must(m.Resume(ctx))(t))
	s := must(p.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", Reference: "OPS-1"}))(t)
	return as[*rollover.ReceiversSwitched](t, s), p.Report().Time
}

// removeWith has m try step 7.
func removeWith(t *testing.T, m *rollover.Manager) error {
	t.Helper()
	s := as[*rollover.ReceiversSwitched](t, must(m.Resume(ctx))(t))
	_, err := s.RemoveOldKey(ctx)
	return err
}

// TestRetention_recorded checks that the retention rules recorded at step
// 1 hold for every later process, and that a process with longer rules
// lengthens them: whichever process confirms or removes, the old key is
// kept the longer of the times.
func TestRetention_recorded(t *testing.T) {
	t.Parallel()
	long := rollover.Policy{GuaranteedDelivery: 120 * day}
	for _, tc := range []struct {
		name                   string
		start, confirm, remove rollover.Policy // the Policy of the process taking step 1, step 6 and step 7
		wantDays, wantDelivery int             // the effective rules in days
		wantRaised             int             // raise-retention records
	}{
		{name: "started with 120 days, confirmed and removed with the zero policy", start: long, wantDays: 120, wantDelivery: 120},
		{name: "started with the zero policy, confirmed with 120 days", confirm: long, wantDays: 120, wantDelivery: 120, wantRaised: 1},
		{name: "started with the zero policy, removed with 120 days", remove: long, wantDays: 120, wantDelivery: 120, wantRaised: 1},
		{name: "started with a raised floor, confirmed with 120 days", start: rollover.Policy{RetentionFloor: 180 * day, GuaranteedDelivery: 7 * day}, confirm: long,
			wantDays: 180, wantDelivery: 120, wantRaised: 1},
		{name: "started with 7 days, confirmed with the zero policy", start: rollover.Policy{GuaranteedDelivery: 7 * day}, wantDays: 90, wantDelivery: 90, wantRaised: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{Policy: tc.start})
			e.toProvided("partner-a")
			e.clock.Advance(day)
			_, confirmed := confirmWith(t, e.processWith(tc.confirm))
			remover := e.processWith(tc.remove)
			r := as[*rollover.ReceiversSwitched](t, must(remover.Resume(ctx))(t)).Report()
			retention := time.Duration(tc.wantDays) * day
			if r.Retention != retention || r.GuaranteedDelivery != time.Duration(tc.wantDelivery)*day {
				t.Errorf("Report() Retention, GuaranteedDelivery = %v, %v; want %d and %d days", r.Retention, r.GuaranteedDelivery, tc.wantDays, tc.wantDelivery)
			}
			if want := confirmed.Add(retention); !r.OldKeyExpires.Equal(want) || !r.RemovableAt.Equal(want) {
				t.Errorf("Report() OldKeyExpires, RemovableAt = %v, %v; want %v", r.OldKeyExpires, r.RemovableAt, want)
			}

			e.clock.Set(confirmed.Add(retention - day))
			err := removeWith(t, remover)
			var re *rollover.RemovalError
			if !errors.Is(err, wssec.ErrRetentionNotElapsed) || !errors.As(err, &re) || !re.AllowedAt.Equal(confirmed.Add(retention)) {
				t.Fatalf("RemoveOldKey() a day early error = %v, want ErrRetentionNotElapsed allowed from %v", err, confirmed.Add(retention))
			}
			e.clock.Set(confirmed.Add(retention))
			if err := removeWith(t, remover); err != nil {
				t.Fatalf("RemoveOldKey() at %d days error = %v", tc.wantDays, err)
			}
			if got := countActions(e, rollover.ActionRaiseRetention); got != tc.wantRaised {
				t.Errorf("%d raise-retention records, want %d: %v", got, tc.wantRaised, e.actions())
			}
		})
	}
}

// The example of the issue: an application with a guaranteed delivery
// time of 120 days starts the renewal; an operator's tool without that
// setting records the confirmation and tries to remove the old key.
func TestRetention_operatorTool(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 120 * day}})
	e.toProvided("partner-a")
	h := must(rollover.History(e.store))(t)
	if note := h[0].Note; !strings.Contains(note, "retention 120 days after the last confirmation (guaranteed delivery 120 days, retention floor 90 days)") {
		t.Errorf("step 1 record note = %q, want the retention policy", note)
	}
	tool := e.processWith(rollover.Policy{})
	_, confirmed := confirmWith(t, tool)

	e.clock.Set(confirmed.Add(100 * day))
	err := removeWith(t, tool)
	var re *rollover.RemovalError
	if !errors.As(err, &re) || !errors.Is(err, wssec.ErrRetentionNotElapsed) || !re.AllowedAt.Equal(confirmed.Add(120*day)) {
		t.Fatalf("RemoveOldKey() at day 100 error = %v, want ErrRetentionNotElapsed allowed at day 120", err)
	}
	// Nor does the store let the tool remove the key itself.
	s := must(keystore.Open(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: e.clock.Now}))(t)
	if err := s.Update(ctx, func(tx *keystore.Tx) error { return tx.Remove("tenant-2025") }); !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("Tx.Remove() at day 100 error = %v, want ErrRetentionNotElapsed", err)
	}

	// A response encrypted to the old key arrives on day 110; the tool
	// must wait the application's guaranteed delivery time after it.
	e.clock.Set(confirmed.Add(110 * day))
	e.receive(testpki.Old, "")
	lastUse := e.clock.Now()
	e.record()
	e.clock.Set(confirmed.Add(121 * day))
	err = removeWith(t, tool)
	if !errors.Is(err, rollover.ErrKeyInUse) || !errors.As(err, &re) || !re.AllowedAt.Equal(lastUse.Add(120*day)) {
		t.Fatalf("RemoveOldKey() at day 121 error = %v, want ErrKeyInUse allowed from %v", err, lastUse.Add(120*day))
	}
	e.clock.Set(lastUse.Add(120 * day))
	if err := removeWith(t, tool); err != nil {
		t.Fatalf("RemoveOldKey() error = %v", err)
	}
}

// A process with a longer Policy raises the recorded one with any change
// it writes, evidence included, and moves the old key's expiry in the
// store.
func TestRetention_raised(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.toProvided("partner-a")
	_, confirmed := confirmWith(t, e.m)
	if exp := must(e.store.View().Entry("tenant-2025"))(t).Expires; !exp.Equal(confirmed.Add(90 * day)) {
		t.Fatalf("store expiry = %v, want 90 days after the confirmation", exp)
	}

	// The application, with 180 days, writes usage evidence.
	app := e.processWith(rollover.Policy{GuaranteedDelivery: 180 * day})
	e.clock.Advance(day)
	ring := must(e.store.KeyRing())(t)
	res := must((&wssec.Decryptor{Keys: ring}).Decrypt(encryptTo(t, load(testpki.New).Certificate)))(t)
	app.Observe("partner-a", res)
	must(app.Resume(ctx))(t)
	if !must(app.RecordUsage(ctx))(t) {
		t.Fatal("RecordUsage() wrote nothing")
	}
	e.restart()
	if exp := must(e.store.View().Entry("tenant-2025"))(t).Expires; !exp.Equal(confirmed.Add(180 * day)) {
		t.Errorf("store expiry = %v, want 180 days after the confirmation", exp)
	}
	r := as[*rollover.ReceiversSwitched](t, e.resume()).Report()
	if r.Retention != 180*day || r.GuaranteedDelivery != 180*day || !r.OldKeyExpires.Equal(confirmed.Add(180*day)) {
		t.Errorf("Report() of a zero-policy Manager = retention %v, delivery %v, expires %v; want the raised 180 days", r.Retention, r.GuaranteedDelivery, r.OldKeyExpires)
	}
	var raised []rollover.Record
	for _, rec := range must(rollover.History(e.store))(t) {
		if rec.Action == rollover.ActionRaiseRetention {
			raised = append(raised, rec)
		}
	}
	if len(raised) != 1 || !strings.Contains(raised[0].Note, "retention 180 days") || !strings.Contains(raised[0].Note, "was retention 90 days") {
		t.Errorf("raise-retention records = %+v, want one raising 90 to 180 days", raised)
	}
	e.clock.Set(confirmed.Add(179 * day))
	if err := removeWith(t, e.m); !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Errorf("RemoveOldKey() at day 179 error = %v, want ErrRetentionNotElapsed", err)
	}
}

// State written before the policy was recorded reads as the zero policy
// recorded: each process uses its own, and the first change written
// records it.
func TestRetention_migration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.toProvided("partner-a")
	err := e.store.Update(ctx, func(tx *keystore.Tx) error {
		raw := must(tx.State("rollover-decryption"))(t)
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return err
		}
		if _, ok := doc["retention"]; !ok {
			t.Errorf("state has no retention: %s", raw)
		}
		delete(doc, "retention")
		raw = must(json.Marshal(doc))(t)
		return tx.SetState("rollover-decryption", raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    rollover.Policy
		want time.Duration
	}{{rollover.Policy{}, 90 * day}, {rollover.Policy{GuaranteedDelivery: 120 * day}, 120 * day}} {
		if r := must(e.processWith(tc.p).Resume(ctx))(t).Report(); r.Retention != tc.want {
			t.Errorf("Report().Retention with %v = %v, want %v", tc.p, r.Retention, tc.want)
		}
	}
	_, confirmed := confirmWith(t, e.processWith(rollover.Policy{GuaranteedDelivery: 120 * day}))
	if got := countActions(e, rollover.ActionRaiseRetention); got != 1 {
		t.Errorf("%d raise-retention records, want 1", got)
	}
	if r := must(e.processWith(rollover.Policy{}).Resume(ctx))(t).Report(); r.Retention != 120*day || !r.OldKeyExpires.Equal(confirmed.Add(120*day)) {
		t.Errorf("Report() = retention %v, expires %v; want 120 days recorded", r.Retention, r.OldKeyExpires)
	}
}

func countActions(e *env, a rollover.Action) int {
	e.t.Helper()
	must(e.store.Reload(ctx))(e.t)
	n := 0
	for _, r := range must(rollover.History(e.store))(e.t) {
		if r.Action == a {
			n++
		}
	}
	return n
}
