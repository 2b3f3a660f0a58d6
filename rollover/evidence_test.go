package rollover_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
)

// RecordUsage writes at most once per interval, and only when there is
// something new.
func TestManager_RecordUsage_interval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	steps := []struct {
		advance time.Duration
		receive bool
		want    bool
	}{
		{0, false, false}, // nothing to write
		{0, true, true},
		{0, true, false},                 // within the minute
		{30 * time.Second, false, false}, // still within
		{30 * time.Second, false, true},  // the use above is written now
		{time.Hour, false, false},        // nothing new
		{0, true, true},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		if s.receive {
			e.receive(testpki.Old, "")
		}
		if got := e.record(); got != s.want {
			t.Fatalf("step %d: RecordUsage() = %v, want %v", i, got, s.want)
		}
	}
	gen := e.store.Generation()
	e.clock.Advance(time.Minute)
	if e.record() || e.store.Generation() != gen {
		t.Error("RecordUsage() without evidence wrote")
	}
}

// The self-test's decryptions are not taken for a receiver's first use of
// the new key; a real response is.
func TestManager_RecordUsage_firstNewKeyUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	p := e.toProvided("partner-a")
	e.clock.Advance(time.Hour)
	e.record()
	e.restart()
	p = as[*rollover.CertificateProvided](t, e.resume())
	if r := p.Report(); !r.FirstNewKeyUse.IsZero() {
		t.Fatalf("FirstNewKeyUse = %v after the self-test only", r.FirstNewKeyUse)
	}
	e.clock.Advance(time.Hour)
	first := e.clock.Now()
	e.receive(testpki.New, "")
	e.clock.Advance(time.Hour)
	e.receive(testpki.New, "")
	if !e.record() {
		t.Fatal("RecordUsage() wrote nothing")
	}
	r := p.Report()
	if !r.FirstNewKeyUse.Equal(e.clock.Now()) {
		// Unattributed, the ring tells the last use of the batch: the
		// first use lies at or before it.
		t.Errorf("FirstNewKeyUse = %v, want %v", r.FirstNewKeyUse, e.clock.Now())
	}
	if r.FirstNewKeyUse.Before(first) {
		t.Errorf("FirstNewKeyUse %v before the first response %v", r.FirstNewKeyUse, first)
	}
	h := must(rollover.History(e.store))(t)
	last := h[len(h)-1]
	if last.Action != rollover.ActionNewKeyFirstUse || last.Receiver != "" || last.Count != 2 {
		t.Errorf("last record = %+v, want an unattributed first use counting 2", last)
	}
	// Later uses add no record.
	e.clock.Advance(time.Hour)
	e.receive(testpki.New, "")
	e.record()
	if n := len(must(rollover.History(e.store))(t)); n != len(h) {
		t.Errorf("history grew from %d to %d records", len(h), n)
	}
}

// Responses decrypted with the old key after every receiver confirmed
// are counted, logged each time, and audited once a day.
func TestManager_RecordUsage_oldKeyAfterConfirmation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.toSwitched("partner-a")
	countRecords := func() int {
		n := 0
		for _, r := range must(rollover.History(e.store))(t) {
			if r.Action == rollover.ActionOldKeyUsedAfterConfirmation {
				n++
			}
		}
		return n
	}
	type want struct {
		records, warnings int
		uses              uint64
	}
	for i, s := range []struct {
		advance  time.Duration
		receives int
		want     want
	}{
		{time.Hour, 1, want{1, 1, 1}},
		{time.Hour, 2, want{1, 2, 3}}, // counted and logged, audited later
		{day, 1, want{2, 3, 4}},       // a day on: audited with the count
		{time.Hour, 0, want{2, 3, 4}}, // nothing new
		{2 * day, 1, want{3, 4, 5}},
	} {
		e.clock.Advance(s.advance)
		for range s.receives {
			e.receive(testpki.Old, "")
		}
		e.record()
		got := want{countRecords(), len(e.logs.Lines("old key used after confirmation")) + len(e.logs.Lines("old-key-used-after-confirmation")), as[*rollover.ReceiversSwitched](t, e.resume()).Report().OldKeyUsesAfterConfirmation}
		if got != s.want {
			t.Fatalf("step %d: (records, warnings, uses) = %+v, want %+v", i, got, s.want)
		}
	}
	warns := e.logs.Lines("rollover: old-key-used-after-confirmation")
	if len(warns) != 3 || warns[1]["level"] != "WARN" || warns[1]["count"] != float64(3) {
		t.Errorf("audit log lines = %v", warns)
	}
}

// With Observe, the evidence names the receiver: a confirmed receiver
// still using the old key is warned about, one that has not confirmed is
// not, and each receiver's first use of the new key is recorded.
func TestManager_Observe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	p := e.toProvided("partner-a", "partner-b")
	p = as[*rollover.CertificateProvided](t, must(p.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a"}))(t))
	e.clock.Advance(time.Hour)
	e.receive(testpki.Old, "partner-a") // confirmed, yet on the old key
	e.receive(testpki.Old, "partner-b") // not confirmed: expected
	e.receive(testpki.Old, "")          // unattributed, partner-b pending: expected
	e.receive(testpki.New, "partner-b")
	e.m.Observe("unknown", nil)
	e.record()
	r := p.Report()
	got := []uint64{r.Receivers[0].OldKeyUsesAfterConfirmation, r.Receivers[1].OldKeyUsesAfterConfirmation, r.OldKeyUsesAfterConfirmation}
	if diff := cmp.Diff([]uint64{1, 0, 1}, got); diff != "" {
		t.Errorf("old key uses after confirmation (-want +got):\n%s", diff)
	}
	if !r.Receivers[0].FirstNewKeyUse.IsZero() || !r.Receivers[1].FirstNewKeyUse.Equal(e.clock.Now()) || !r.FirstNewKeyUse.Equal(e.clock.Now()) {
		t.Errorf("first uses = %+v, %v", r.Receivers, r.FirstNewKeyUse)
	}
	want := []string{"confirm-receiver-switched partner-a", "old-key-used-after-confirmation partner-a", "new-key-first-use partner-b"}
	if diff := cmp.Diff(want, e.actions()[len(e.actions())-3:]); diff != "" {
		t.Errorf("History() actions (-want +got):\n%s", diff)
	}
}

// The report warns from the renewal lead on, and the log says so once a
// day.
func TestReport_renewalDue(t *testing.T) {
	t.Parallel()
	notAfter := load(testpki.Old).Certificate.NotAfter
	for _, tc := range []struct {
		name      string
		lead      time.Duration
		before    time.Duration
		wantDue   bool
		wantDays  int
		wantWarns int
	}{
		{"default lead, 50 days left", 0, 50 * day, true, 50, 1},
		{"default lead, 61 days left", 0, 61 * day, false, 61, 0},
		{"30-day lead, 50 days left", 30 * day, 50 * day, false, 50, 0},
		{"expired", 0, -36 * time.Hour, true, -2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{Policy: rollover.Policy{RenewalLead: tc.lead}})
			e.clock.Set(notAfter.Add(-tc.before))
			r := e.resume().Report()
			if r.RenewalDue != tc.wantDue || r.DaysLeft != tc.wantDays {
				t.Errorf("Report() = due %v, %d days, want %v, %d", r.RenewalDue, r.DaysLeft, tc.wantDue, tc.wantDays)
			}
			e.resume()
			e.record()
			if got := len(e.logs.Lines("rollover: renewal due")); got != tc.wantWarns {
				t.Errorf("%d warnings the same day, want %d", got, tc.wantWarns)
			}
			e.clock.Advance(day)
			e.record()
			if got := len(e.logs.Lines("rollover: renewal due")); got != 2*tc.wantWarns {
				t.Errorf("%d warnings the next day, want %d", got, 2*tc.wantWarns)
			}
		})
	}
}

// Decryptions, Observe and RecordUsage run concurrently with the steps;
// run with -race.
func TestManager_concurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{UsageInterval: time.Nanosecond})
	oldMsg := encryptTo(t, load(testpki.Old).Certificate)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := e.decrypt(oldMsg)
				if err != nil {
					errs <- err
					return
				}
				e.m.Observe("partner-a", res)
				if _, err := e.m.RecordUsage(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	s := e.toSwitched("partner-a")
	_ = s.Report()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent decryption or RecordUsage: %v", err)
	}
	e.clock.Advance(time.Minute)
	e.record()
	if r := e.resume().Report(); r.Old.LastUsed.IsZero() {
		t.Errorf("Report().Old.LastUsed is zero after concurrent use")
	}
}
