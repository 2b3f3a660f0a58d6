package keystore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/wsrenew/wsrenew/wssec"
)

// This file holds what a Follower registers as a holder: its record, the
// self-test of each key it holds, and the usage it writes.

// holder returns the follower's holder record as it would register it
// now.
func (f *Follower) holder() Holder {
	h := Holder{ID: f.id, Host: f.host, PID: os.Getpid(), Generation: f.s.View().Generation(),
		Started: f.start, Heartbeat: f.s.opts.now(), TTL: f.opts.holderTTL()}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		h.Error = f.err.Error()
	}
	for _, e := range f.ring.Snapshot() {
		why, ok := f.tested[e.Fingerprint]
		switch {
		case !ok:
			why = "not tested"
		case why == "":
			h.Keys = append(h.Keys, e.Fingerprint)
			continue
		}
		if h.Failed == nil {
			h.Failed = map[wssec.Fingerprint]string{}
		}
		h.Failed[e.Fingerprint] = why
	}
	return h
}

// beat writes the holder record.
func (f *Follower) beat(ctx context.Context) error {
	h := f.holder()
	if f.opts.Trusted != nil {
		h.Trusted = slices.Clone(f.opts.Trusted(ctx))
	}
	data, err := marshalHolder(h)
	if err != nil {
		return err
	}
	if err := f.rb.PutRecord(ctx, recordHolders, f.id, data, h.TTL); err != nil {
		return err
	}
	f.mu.Lock()
	f.beatAt = h.Heartbeat
	f.mu.Unlock()
	return nil
}

// pruneHolders removes holder records that expired, as the directory
// backend has no server-side leases. Errors are left for the next
// follower: an expired record does not count anyway.
func (f *Follower) pruneHolders(ctx context.Context) {
	all, err := f.s.allHolders(ctx)
	if err != nil {
		return
	}
	now := f.s.opts.now()
	for _, h := range all {
		if !now.Before(h.Heartbeat.Add(h.TTL)) {
			_ = f.rb.DeleteRecord(ctx, recordHolders, h.ID)
		}
	}
}

// selfTestSample is what the self-test encrypts to each new key.
const selfTestSample = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><t:HolderSelfTest xmlns:t="urn:wsrenew:keystore:self-test">holder self-test</t:HolderSelfTest></soap:Body></soap:Envelope>`

// selfTest tests every key of the ring not tested yet: it encrypts a
// sample to the key's certificate and decrypts it with the key, through a
// ring of its own so that the test is not counted as a use of the key.
func (f *Follower) selfTest() {
	st := f.s.state.Load()
	for _, e := range st.m.entries {
		if e.Status == StatusPending {
			continue
		}
		f.mu.Lock()
		_, done := f.tested[e.Fingerprint]
		f.mu.Unlock()
		if done {
			continue
		}
		res := "" // passed
		if err := selfTestKey(st.keys[e.Location].ringKey(e.Alias), f.s.opts.rand()); err != nil {
			res = cmp.Or(err.Error(), "failed")
		}
		f.mu.Lock()
		f.tested[e.Fingerprint] = res
		f.mu.Unlock()
	}
}

func selfTestKey(k wssec.Key, rnd io.Reader) error {
	ring, err := wssec.NewKeyRingOptions(k, wssec.RingOptions{})
	if err != nil {
		return err
	}
	msg, err := (&wssec.Encryptor{Certificate: k.Certificate, Rand: rnd}).Encrypt([]byte(selfTestSample))
	if err != nil {
		return fmt.Errorf("encrypting the sample: %w", err)
	}
	res, err := (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
	if err != nil {
		return fmt.Errorf("decrypting the sample: %w", err)
	}
	if !bytes.Contains(res.Envelope, []byte("holder self-test")) {
		return errors.New("the decrypted sample differs")
	}
	return nil
}

// writeUsage writes this holder's usage record if the ring counted uses
// since the last write.
func (f *Follower) writeUsage(ctx context.Context) error {
	now := f.s.opts.now()
	snap := f.ring.Snapshot()
	f.mu.Lock()
	changed := false
	next := make(map[wssec.Fingerprint]KeyUsage, len(f.used)+len(snap))
	for fp, u := range f.used {
		next[fp] = u
	}
	seen := make(map[wssec.Fingerprint]uint64, len(snap))
	for _, e := range snap {
		seen[e.Fingerprint] = e.Uses
		if e.Uses == f.lastSeen[e.Fingerprint] {
			continue
		}
		changed = true
		u := next[e.Fingerprint]
		u.Fingerprint = e.Fingerprint
		if e.Uses > f.lastSeen[e.Fingerprint] {
			u.Count += e.Uses - f.lastSeen[e.Fingerprint]
		}
		if e.LastUsed.After(u.LastUsed) {
			u.LastUsed = normTime(e.LastUsed)
		}
		next[e.Fingerprint] = u
	}
	f.mu.Unlock()
	if !changed {
		return nil
	}
	rec := usageRecord{Holder: f.id, Written: normTime(now)}
	for _, u := range next {
		rec.Keys = append(rec.Keys, u)
	}
	slices.SortFunc(rec.Keys, func(a, b KeyUsage) int { return bytes.Compare(a.Fingerprint[:], b.Fingerprint[:]) })
	data, err := marshalUsage(rec)
	if err != nil {
		return err
	}
	if err := f.rb.PutRecord(ctx, recordUsage, f.id, data, 0); err != nil {
		return err
	}
	f.mu.Lock()
	f.used, f.lastSeen, f.usageAt = next, seen, now
	f.mu.Unlock()
	return nil
}
