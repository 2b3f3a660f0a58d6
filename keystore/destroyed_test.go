package keystore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The store keeps the latest maxDestructions records, counts the ones it
// drops, and refuses to destroy with records it cannot read rather than
// lose them.
func TestTx_destroyExpiredRecords(t *testing.T) {
	t.Parallel()
	e := Entry{Alias: "a", Status: StatusDisabled, Created: t0, Expires: t0, DisabledAt: t0, DestroyAfter: t0.Add(time.Hour)}
	full := &destroyedDoc{Version: 1, Records: make([]destructionJSON, maxDestructions), Dropped: 3}
	for i := range full.Records {
		full.Records[i] = destructionJSON{Time: t0, Alias: "x", SHA256: strings.Repeat("ab", 32)}
	}
	fullJSON, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		blob        string
		wantRecords int
		wantDropped uint64
		wantErr     error
	}{
		{name: "none yet", wantRecords: 1},
		{name: "full", blob: string(fullJSON), wantRecords: maxDestructions, wantDropped: 4},
		{name: "not JSON", blob: `[`, wantErr: ErrInvalidState},
		{name: "unknown version", blob: `{"version":2,"records":[]}`, wantErr: ErrInvalidState},
		{name: "bad fingerprint", blob: `{"version":1,"records":[{"sha256":"zz"}]}`, wantErr: ErrInvalidState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &manifest{entries: []Entry{e}, state: map[string]json.RawMessage{}}
			if tt.blob != "" {
				m.state[destroyedName] = json.RawMessage(tt.blob)
			}
			tx := &Tx{m: m, now: t0.Add(2 * time.Hour)}
			err := tx.destroyExpired()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("destroyExpired() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			doc, err := readDestructions(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Records) != tt.wantRecords || doc.Dropped != tt.wantDropped {
				t.Errorf("%d records, %d dropped; want %d, %d", len(doc.Records), doc.Dropped, tt.wantRecords, tt.wantDropped)
			}
			if last := doc.Records[len(doc.Records)-1]; last.Alias != "a" || !last.Time.Equal(tx.now) {
				t.Errorf("last record = %+v, want the destruction of a at %v", last, tx.now)
			}
			if len(m.entries) != 0 || len(tx.destroyedEntries()) != 1 {
				t.Errorf("entries %v, destroyed %v; want a destroyed", m.entries, tx.destroyedEntries())
			}
		})
	}
}

// destructions returns s's destruction records, failing the test on an
// error.
func destructions(t *testing.T, s *Store) []Destruction {
	t.Helper()
	got, err := s.Destructions()
	if err != nil {
		t.Fatalf("Destructions() error = %v", err)
	}
	return got
}
