package rollover

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/keystore"
)

// The audit trail keeps the latest records and counts those it dropped.
func TestDocs_save_auditLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := keystore.Create(ctx, keystore.Dir(filepath.Join(t.TempDir(), "keys")), keystore.PasswordValue("pw"), keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1500, 1500} {
		err := s.Update(ctx, func(tx *keystore.Tx) error {
			d, err := loadDocs(tx.State)
			if err != nil {
				return err
			}
			for i := range n {
				d.record(Record{Time: t0.Add(time.Duration(i) * time.Minute), Action: ActionOldKeyUsedAfterConfirmation, Count: uint64(i)})
			}
			return d.save(tx)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := History(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != maxAuditRecords || h[0].Count != 1000 || h[len(h)-1].Count != 1499 {
		t.Errorf("History() = %d records from count %d to %d, want %d from 1000 to 1499", len(h), h[0].Count, h[len(h)-1].Count, maxAuditRecords)
	}
	var a auditDoc
	raw, err := s.View().State(auditName)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &a); err != nil || a.Dropped != 1000 {
		t.Errorf("dropped = %d (%v), want 1000", a.Dropped, err)
	}
}

func TestDaysUntil(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC)
	var got []int
	for _, d := range []time.Duration{0, time.Hour, 24 * time.Hour, 36 * time.Hour, -time.Hour, -24 * time.Hour, -25 * time.Hour} {
		got = append(got, daysUntil(now, now.Add(d)))
	}
	if diff := cmp.Diff([]int{0, 0, 1, 1, -1, -1, -2}, got); diff != "" {
		t.Errorf("daysUntil (-want +got):\n%s", diff)
	}
}

func TestRemovableAt(t *testing.T) {
	t.Parallel()
	exp := time.Date(2027, 4, 4, 0, 0, 0, 0, time.UTC)
	p := Policy{GuaranteedDelivery: 10 * 24 * time.Hour}
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
		if got := removableAt(exp, tc.lastUsed, p); !got.Equal(tc.want) {
			t.Errorf("%s: removableAt() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
