package procedure

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

const day = 24 * time.Hour

func newStore(t *testing.T) *keystore.Store {
	t.Helper()
	s, err := keystore.Create(context.Background(), keystore.Dir(filepath.Join(t.TempDir(), "keys")), keystore.PasswordValue("pw"), keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The audit trail keeps the latest records and counts those it dropped.
func TestAppendAudit_limit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	t0 := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1500, 1500} {
		err := s.Update(ctx, func(tx *keystore.Tx) error {
			var recs []Record
			for i := range n {
				recs = append(recs, Record{Time: t0.Add(time.Duration(i) * time.Minute), Action: "evidence", Count: uint64(i)})
			}
			return AppendAudit(tx, recs)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	h, dropped, err := ReadAudit(s.ReadState)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != MaxAuditRecords || h[0].Count != 1000 || h[len(h)-1].Count != 1499 || dropped != 1000 {
		t.Errorf("ReadAudit() = %d records from count %d to %d, %d dropped; want %d from 1000 to 1499, 1000 dropped",
			len(h), h[0].Count, h[len(h)-1].Count, dropped, MaxAuditRecords)
	}
}

// A record survives the round trip through the store unchanged.
func TestAudit_roundTrip(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	want := []Record{{
		Time: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), Renewal: 3, Action: "a", Actor: "ops",
		NewKey: wssec.Fingerprint{1}, OldKey: wssec.Fingerprint{2}, Receiver: "r", Partner: "p",
		By: "b", Reference: "ref", Note: "n", Count: 7,
	}}
	if err := s.Update(context.Background(), func(tx *keystore.Tx) error { return AppendAudit(tx, want) }); err != nil {
		t.Fatal(err)
	}
	got, _, err := ReadAudit(s.ReadState)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadAudit() (-want +got):\n%s", diff)
	}
}

func TestDaysUntil(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC)
	var got []int
	for _, d := range []time.Duration{0, time.Hour, day, 36 * time.Hour, -time.Hour, -day, -25 * time.Hour} {
		got = append(got, DaysUntil(now, now.Add(d)))
	}
	if diff := cmp.Diff([]int{0, 0, 1, 1, -1, -1, -2}, got); diff != "" {
		t.Errorf("DaysUntil (-want +got):\n%s", diff)
	}
}

func TestRemovableAt(t *testing.T) {
	t.Parallel()
	exp := time.Date(2027, 4, 4, 0, 0, 0, 0, time.UTC)
	r := Resolve(10*day, 0)
	for _, tc := range []struct {
		name     string
		lastUsed time.Time
		want     time.Time
	}{
		{"never used", time.Time{}, exp},
		{"used long before", exp.AddDate(0, 0, -30), exp},
		{"used 5 days before", exp.AddDate(0, 0, -5), exp.AddDate(0, 0, 5)},
		{"used after", exp.AddDate(0, 0, 3), exp.AddDate(0, 0, 13)},
	} {
		if got := RemovableAt(exp, tc.lastUsed, r); !got.Equal(tc.want) {
			t.Errorf("%s: RemovableAt() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		gd, floor time.Duration
		rec       *Retention
		want      time.Duration
	}{
		{"zero", 0, 0, nil, MinRetention},
		{"short delivery", 10 * day, 0, nil, MinRetention},
		{"long delivery", 120 * day, 0, nil, 120 * day},
		{"raised floor", 0, 100 * day, nil, 100 * day},
		{"recorded longer", 0, 0, Resolve(150*day, 0).Record(), 150 * day},
		{"recorded shorter", 120 * day, 0, Resolve(0, 0).Record(), 120 * day},
	} {
		if got := Effective(tc.rec, Resolve(tc.gd, tc.floor)).Retention(); got != tc.want {
			t.Errorf("%s: Retention() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRaise(t *testing.T) {
	t.Parallel()
	switched := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	expires := switched.Add(MinRetention)
	rec := Resolve(0, 0).Record()
	if _, _, _, ok := Raise(rec, Resolve(0, 0), expires, switched); ok {
		t.Errorf("Raise() with the recorded rules = ok, want the recorded rules to stand")
	}
	want, exp, note, ok := Raise(rec, Resolve(120*day, 0), expires, switched)
	if !ok || time.Duration(want.GuaranteedDelivery) != 120*day || !exp.Equal(switched.Add(120*day)) || note == "" {
		t.Errorf("Raise() = %+v, %v, %q, %v; want 120 days from the switch", want, exp, note, ok)
	}
	if _, _, _, ok := Raise(nil, Resolve(0, 0), time.Time{}, time.Time{}); !ok {
		t.Errorf("Raise() without recorded rules = not ok, want them recorded")
	}
}

func TestStale(t *testing.T) {
	t.Parallel()
	idle := Pos{Seq: 1, Renewal: 1, Stage: "idle"}
	running := Pos{Seq: 2, Renewal: 2, Stage: "running", InRenewal: true}
	provided := Pos{Seq: 3, Renewal: 2, Stage: "provided", InRenewal: true, PastReturn: true}
	at := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		op           string
		from, stored Pos
		want         []error
	}{
		{"fresh", "Step", idle, idle, nil},
		{"renewal started", "Begin", idle, running, []error{ErrStaleStage, ErrRenewalInProgress}},
		{"cancel past return", "Cancel", running, provided, []error{ErrStaleStage, ErrCannotCancel}},
		{"moved on", "Step", running, provided, []error{ErrStaleStage}},
	} {
		err := Stale(tc.op, "", tc.from, tc.stored, at)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: Stale() = %v, want nil", tc.name, err)
			}
			continue
		}
		for _, w := range tc.want {
			if !errors.Is(err, w) {
				t.Errorf("%s: Stale() = %v, want %v", tc.name, err, w)
			}
		}
	}
}

// blobDoc is a procedure's state for TestRun.
type blobDoc struct {
	Version int       `json:"version"`
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
}

func (d *blobDoc) FormatVersion() int { return d.Version }

type counterStep struct {
	d    blobDoc
	from uint64
}

func (s *counterStep) Load(tx Blobs) (time.Time, error) {
	s.d = blobDoc{Version: Version}
	return s.d.At, LoadBlob(tx.State, "counter", &s.d)
}

func (s *counterStep) Apply(_ Blobs, txn *Txn) error {
	if err := Stale("Count", "", Pos{Seq: s.from}, Pos{Seq: s.d.Seq}, time.Time{}); err != nil {
		return err
	}
	s.d.Seq++
	s.d.At = txn.Now
	txn.Record(Record{Time: txn.Now, Action: "count"})
	return nil
}

func (s *counterStep) Save(tx Blobs) error { return SetBlob(tx, "counter", &s.d) }

// Run commits the state and the audit record in one transaction, refuses
// a stale step and a clock behind the recorded time, and then changes
// nothing.
func TestRun(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	update := func(ctx context.Context, fn func(Blobs) error) error {
		return s.Update(ctx, func(tx *keystore.Tx) error { return fn(tx) })
	}
	now := time.Date(2040, 1, 4, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	if _, err := Run(ctx, update, "Count", clock, &counterStep{from: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, update, "Count", clock, &counterStep{from: 0}); !errors.Is(err, ErrStaleStage) {
		t.Errorf("Run() from a stale value error = %v, want ErrStaleStage", err)
	}
	now = now.Add(-time.Hour)
	var ce *StageError
	if _, err := Run(ctx, update, "Count", clock, &counterStep{from: 1}); !errors.As(err, &ce) || !errors.Is(err, ErrClockBehind) {
		t.Errorf("Run() with the clock behind error = %v, want a *StageError with ErrClockBehind", err)
	}
	recs, _, err := ReadAudit(s.ReadState)
	if err != nil || len(recs) != 1 {
		t.Errorf("ReadAudit() = %d records, %v; want the one committed step", len(recs), err)
	}
}
