package rollover_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
)

// TestReport_reminders checks the renewal reminder of every stage: when a
// renewal is due, the next step and from when it is allowed, and the
// health a monitoring check reports, on the injected clock.
func TestReport_reminders(t *testing.T) {
	t.Parallel()
	oldNotAfter := load(testpki.Old).Certificate.NotAfter
	at := func(d time.Duration) func(e *env) rollover.Stage {
		return func(e *env) rollover.Stage {
			e.clock.Set(oldNotAfter.Add(-d))
			return e.resume()
		}
	}
	type want struct {
		Health     rollover.Health
		Step       int
		Name       string
		AllowedAt  time.Time // zero: the report's time
		WaitingFor []string
		DueAt      time.Time
		Later      bool // the step is not allowed at the report's time
	}
	due := oldNotAfter.Add(-60 * day)
	tests := []struct {
		name   string
		policy rollover.Policy
		setup  func(e *env) rollover.Stage
		want   want
		reason string // a part of HealthReason
	}{
		{"idle, years left", rollover.Policy{}, func(e *env) rollover.Stage { return e.resume() },
			want{Health: rollover.HealthOK, Step: 1, Name: "create", DueAt: due}, "renewal due from"},
		{"idle, 61 days left", rollover.Policy{}, at(61 * day),
			want{Health: rollover.HealthOK, Step: 1, Name: "create", DueAt: due}, "renewal due from"},
		{"idle, 59 days left", rollover.Policy{}, at(59 * day),
			want{Health: rollover.HealthWarning, Step: 1, Name: "create", DueAt: due}, "renewal due since"},
		{"idle, 59 days left, 30-day lead", rollover.Policy{RenewalLead: 30 * day}, at(59 * day),
			want{Health: rollover.HealthOK, Step: 1, Name: "create", DueAt: oldNotAfter.Add(-30 * day)}, "renewal due from"},
		{"idle, 100 days left, 120 days guaranteed delivery", rollover.Policy{GuaranteedDelivery: 120 * day}, at(100 * day),
			want{Health: rollover.HealthCritical, Step: 1, Name: "create", DueAt: due}, "within 120 days"},
		{"idle, 31 days left", rollover.Policy{}, at(31 * day),
			want{Health: rollover.HealthWarning, Step: 1, Name: "create", DueAt: due}, "renewal due since"},
		{"idle, 29 days left", rollover.Policy{}, at(29 * day),
			want{Health: rollover.HealthCritical, Step: 1, Name: "create", DueAt: due}, "within 30 days"},
		{"idle, expired", rollover.Policy{}, at(-time.Hour),
			want{Health: rollover.HealthCritical, Step: 1, Name: "create", DueAt: due}, "expired at"},
		{"key pair created", rollover.Policy{}, func(e *env) rollover.Stage {
			idle := as[*rollover.Idle](e.t, e.resume())
			return must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
		}, want{Health: rollover.HealthWarning, Step: 2, Name: "add", DueAt: due}, "step 2 (add) of renewal 1 is allowed and waits for the operator"},
		{"key added", rollover.Policy{}, func(e *env) rollover.Stage {
			idle := as[*rollover.Idle](e.t, e.resume())
			created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
			return must(created.AddToKeyStore(ctx))(e.t)
		}, want{Health: rollover.HealthWarning, Step: 3, Name: "provide"}, "step 3 (provide)"},
		{"certificate provided", rollover.Policy{}, func(e *env) rollover.Stage { return e.toProvided("partner-a", "partner-b") },
			want{Health: rollover.HealthOK, Step: 6, Name: "confirm", WaitingFor: []string{"partner-a", "partner-b"}, Later: true}, `waits for confirmations from "partner-a", "partner-b"`},
		{"receivers switched", rollover.Policy{}, func(e *env) rollover.Stage { return e.toSwitched("partner-a") },
			want{Health: rollover.HealthOK, Step: 7, Name: "remove", AllowedAt: t0.Add(90 * day), Later: true}, "step 7 (remove) allowed from"},
		{"receivers switched, retention passed", rollover.Policy{}, func(e *env) rollover.Stage {
			e.toSwitched("partner-a")
			e.clock.Advance(91 * day)
			return e.resume()
		}, want{Health: rollover.HealthWarning, Step: 7, Name: "remove", AllowedAt: t0.Add(90 * day)}, "step 7 (remove) of renewal 1 is allowed and waits for the operator since 2027-04-04 09:00 UTC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{Policy: tc.policy})
			r := tc.setup(e).Report()
			w := tc.want
			if w.AllowedAt.IsZero() && len(w.WaitingFor) == 0 {
				w.AllowedAt = r.Time
			}
			if w.DueAt.IsZero() {
				w.DueAt = load(testpki.New).Certificate.NotAfter.Add(-60 * day)
			}
			got := want{Health: r.Health, Step: r.Next.Step, Name: r.Next.Name, AllowedAt: r.Next.AllowedAt, WaitingFor: r.Next.WaitingFor, DueAt: r.RenewalDueAt, Later: !r.Next.AllowedNow}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("Report() reminder mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(r.HealthReason, tc.reason) || strings.Contains(r.HealthReason, "\n") {
				t.Errorf("Report().HealthReason = %q, want one line containing %q", r.HealthReason, tc.reason)
			}
			t.Logf("%s: %s: %s", tc.name, r.Health, r.HealthReason)
		})
	}
}

// TestReport_healthNoKey checks that a store without a current key is
// critical: nothing can decrypt.
func TestReport_healthNoKey(t *testing.T) {
	t.Parallel()
	var r rollover.Report
	if r.Health != rollover.HealthOK {
		t.Fatalf("zero Report Health = %v, want ok", r.Health)
	}
	for _, h := range []rollover.Health{rollover.HealthOK, rollover.HealthWarning, rollover.HealthCritical, 7} {
		if h.String() == "" {
			t.Errorf("Health(%d).String() is empty", int(h))
		}
	}
}
