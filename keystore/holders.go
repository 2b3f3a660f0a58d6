package keystore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// maxRecordBytes bounds a holder or usage record the store reads: records
// come from other processes and are not trusted to be small.
const maxRecordBytes = 64 << 10

// Holder is a process that follows the store ([Follow]) and decrypts with
// its keys, as it last registered itself. The store lists the holders
// whose heartbeat has not expired ([Store.Holders]); a renewal tells
// receivers of a new key only once every one of them holds it.
type Holder struct {
	// ID names the holder; unique per running process.
	ID string
	// Host and PID say where it runs.
	Host string
	PID  int
	// Generation is the store generation whose keys it has loaded.
	Generation uint64
	// Keys are the keys it holds: the keys of its key ring that passed
	// their self-test, a sample encrypted to the key's certificate
	// decrypted with the key in the holder's own process. A renewal
	// waits until the new key is among them (slices.Contains).
	Keys []wssec.Fingerprint
	// Failed are the other keys of its key ring, with why their
	// self-test failed (or "not tested" yet); empty if none.
	Failed map[wssec.Fingerprint]string
	// Trusted are the signing certificates the holder trusts to verify
	// partners' responses, as [FollowOptions.Trusted] reported them;
	// empty if it does not report them.
	Trusted []wssec.Fingerprint
	// Error is the holder's last error following the store, such as an
	// unreadable manifest; empty while it follows the store. A holder
	// with an error keeps decrypting with the last ring it loaded.
	Error string
	// Started is when the holder began following; Heartbeat when it last
	// registered; TTL how long after the heartbeat it counts as live
	// (it stops counting at Heartbeat.Add(TTL) unless it registers again).
	Started   time.Time
	Heartbeat time.Time
	TTL       time.Duration
}

// holderJSON is a holder record as stored.
type holderJSON struct {
	ID         string        `json:"id"`
	Host       string        `json:"host"`
	PID        int           `json:"pid"`
	Generation uint64        `json:"generation"`
	Keys       []heldKeyJSON `json:"keys"`
	Trusted    []string      `json:"trusted,omitempty"`
	Error      string        `json:"error,omitempty"`
	Started    time.Time     `json:"started"`
	Heartbeat  time.Time     `json:"heartbeat"`
	TTLSeconds float64       `json:"ttl_seconds"`
}

type heldKeyJSON struct {
	SHA256        string `json:"sha256"`
	SelfTest      bool   `json:"self_test"`
	SelfTestError string `json:"self_test_error,omitempty"`
}

func marshalHolder(h Holder) ([]byte, error) {
	j := holderJSON{ID: h.ID, Host: h.Host, PID: h.PID, Generation: h.Generation, Error: h.Error,
		Started: h.Started, Heartbeat: h.Heartbeat, TTLSeconds: h.TTL.Seconds(), Keys: []heldKeyJSON{}}
	for _, fp := range h.Trusted {
		j.Trusted = append(j.Trusted, hex.EncodeToString(fp[:]))
	}
	for _, fp := range h.Keys {
		j.Keys = append(j.Keys, heldKeyJSON{SHA256: hex.EncodeToString(fp[:]), SelfTest: true})
	}
	for _, fp := range slices.SortedFunc(maps.Keys(h.Failed), func(a, b wssec.Fingerprint) int { return bytes.Compare(a[:], b[:]) }) {
		j.Keys = append(j.Keys, heldKeyJSON{SHA256: hex.EncodeToString(fp[:]), SelfTestError: h.Failed[fp]})
	}
	return json.Marshal(j)
}

func parseHolder(id string, data []byte) (Holder, error) {
	var j holderJSON
	if len(data) > maxRecordBytes {
		return Holder{}, errors.New("record too large")
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return Holder{}, err
	}
	if j.ID != id || j.TTLSeconds <= 0 || j.TTLSeconds > (24*time.Hour).Seconds() {
		return Holder{}, errors.New("inconsistent record")
	}
	h := Holder{ID: j.ID, Host: j.Host, PID: j.PID, Generation: j.Generation, Error: j.Error,
		Started: j.Started, Heartbeat: j.Heartbeat, TTL: time.Duration(j.TTLSeconds * float64(time.Second))}
	for _, t := range j.Trusted {
		fp, err := parseFingerprint(t)
		if err != nil {
			return Holder{}, err
		}
		h.Trusted = append(h.Trusted, fp)
	}
	for _, k := range j.Keys {
		fp, err := parseFingerprint(k.SHA256)
		if err != nil {
			return Holder{}, err
		}
		if k.SelfTest {
			h.Keys = append(h.Keys, fp)
			continue
		}
		if h.Failed == nil {
			h.Failed = map[wssec.Fingerprint]string{}
		}
		h.Failed[fp] = k.SelfTestError
	}
	return h, nil
}

func parseFingerprint(s string) (wssec.Fingerprint, error) {
	var fp wssec.Fingerprint
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(fp) {
		return fp, errors.New("invalid fingerprint")
	}
	copy(fp[:], b)
	return fp, nil
}

// records returns the store's RecordBackend, or [ErrNoRecords].
func (s *Store) records() (RecordBackend, error) {
	if err := s.opened(); err != nil {
		return nil, err
	}
	rb, ok := s.b.(RecordBackend)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrNoRecords, s.b)
	}
	return rb, nil
}

// Holders returns the live holders of the store, by ID: those whose
// heartbeat plus TTL lies after the store's clock. A record that cannot
// be parsed counts as expired, as does one whose heartbeat is too old;
// records of holders that stopped cleanly are gone. Liveness compares
// the heartbeat, stamped with the holder's clock, with this store's
// clock: across hosts, keep clocks synchronized well within the TTL, or
// a reader whose clock runs ahead by more than the TTL sees live holders
// as expired.
//
// Holders returns [ErrNoRecords] if the backend keeps no records, and
// the backend's I/O errors. It uses the store's clock and is safe for
// concurrent use.
func (s *Store) Holders(ctx context.Context) ([]Holder, error) {
	all, err := s.allHolders(ctx)
	if err != nil {
		return nil, err
	}
	now := s.opts.now()
	return slices.DeleteFunc(all, func(h Holder) bool { return !now.Before(h.Heartbeat.Add(h.TTL)) }), nil
}

// allHolders returns every parseable holder record, live or not.
func (s *Store) allHolders(ctx context.Context) ([]Holder, error) {
	rb, err := s.records()
	if err != nil {
		return nil, err
	}
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	recs, err := rb.Records(ctx, recordHolders)
	if err != nil {
		return nil, err
	}
	var out []Holder
	for id, data := range recs {
		if h, err := parseHolder(id, data); err == nil {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b Holder) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// KeyUsage is the usage evidence one holder wrote for one key of its
// ring: how many messages the key decrypted there, and when it last did.
// It stays in the store after the holder stops, until [Store.PruneUsage]
// removes the holder's record.
type KeyUsage struct {
	// Holder is the holder's ID, and Written when it last wrote its
	// usage record.
	Holder      string
	Written     time.Time
	Fingerprint wssec.Fingerprint
	// Count is the number of messages the key decrypted in the holder;
	// LastUsed when it last did.
	Count    uint64
	LastUsed time.Time
}

// usageRecord is the usage record one holder wrote: its keys' usage.
type usageRecord struct {
	Holder  string
	Keys    []KeyUsage
	Written time.Time
}

type usageJSON struct {
	Holder  string         `json:"holder"`
	Keys    []keyUsageJSON `json:"keys"`
	Written time.Time      `json:"written"`
}

type keyUsageJSON struct {
	SHA256   string    `json:"sha256"`
	Count    uint64    `json:"count"`
	LastUsed time.Time `json:"last_used"`
}

func marshalUsage(u usageRecord) ([]byte, error) {
	j := usageJSON{Holder: u.Holder, Written: u.Written, Keys: []keyUsageJSON{}}
	for _, k := range u.Keys {
		j.Keys = append(j.Keys, keyUsageJSON{SHA256: hex.EncodeToString(k.Fingerprint[:]), Count: k.Count, LastUsed: k.LastUsed})
	}
	return json.Marshal(j)
}

func parseUsage(id string, data []byte) (usageRecord, error) {
	var j usageJSON
	if len(data) > maxRecordBytes {
		return usageRecord{}, errors.New("record too large")
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return usageRecord{}, err
	}
	if j.Holder != id {
		return usageRecord{}, errors.New("inconsistent record")
	}
	u := usageRecord{Holder: j.Holder, Written: j.Written}
	for _, k := range j.Keys {
		fp, err := parseFingerprint(k.SHA256)
		if err != nil {
			return usageRecord{}, err
		}
		u.Keys = append(u.Keys, KeyUsage{Holder: j.Holder, Written: j.Written, Fingerprint: fp, Count: k.Count, LastUsed: k.LastUsed})
	}
	return u, nil
}

// Usage returns the usage evidence every holder wrote, live or stopped:
// one KeyUsage per holder and key its ring used, by holder ID, then
// fingerprint. When a key last decrypted a message anywhere is the
// latest LastUsed of its fingerprint.
//
// A record that cannot be parsed is returned as an error wrapping
// [ErrCorruptRecord] naming the holder, since dropping it could hide a
// key's use. Usage also returns [ErrNoRecords] if the backend keeps no
// records, and the backend's I/O errors. It is safe for concurrent use.
func (s *Store) Usage(ctx context.Context) ([]KeyUsage, error) {
	recs, err := s.usageRecords(ctx)
	if err != nil {
		return nil, err
	}
	var out []KeyUsage
	for _, u := range recs {
		out = append(out, u.Keys...)
	}
	return out, nil
}

// usageRecords returns every holder's usage record, by holder ID, with the
// errors of [Store.Usage].
func (s *Store) usageRecords(ctx context.Context) ([]usageRecord, error) {
	rb, err := s.records()
	if err != nil {
		return nil, err
	}
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	recs, err := rb.Records(ctx, recordUsage)
	if err != nil {
		return nil, err
	}
	var out []usageRecord
	for id, data := range recs {
		u, err := parseUsage(id, data)
		if err != nil {
			return nil, fmt.Errorf("%w: usage record of holder %s: %v", ErrCorruptRecord, quoteName(id), err)
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b usageRecord) int { return cmp.Compare(a.Holder, b.Holder) })
	return out, nil
}

// PruneUsage removes the usage records written before before by holders
// that are no longer live, and returns how many it removed. Every use in
// such a record happened before before, so a caller that passes the
// current time less the guaranteed delivery time loses no evidence a
// retention decision needs.
//
// It returns the errors of [Store.Holders] and [Store.Usage] and the
// backend's I/O errors. It uses the store's clock.
func (s *Store) PruneUsage(ctx context.Context, before time.Time) (int, error) {
	live, err := s.Holders(ctx)
	if err != nil {
		return 0, err
	}
	recs, err := s.usageRecords(ctx)
	if err != nil {
		return 0, err
	}
	isLive := map[string]bool{}
	for _, h := range live {
		isLive[h.ID] = true
	}
	rb, _ := s.records()
	n := 0
	for _, u := range recs {
		if isLive[u.Holder] || !u.Written.Before(before) {
			continue
		}
		if err := rb.DeleteRecord(ctx, recordUsage, u.Holder); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
