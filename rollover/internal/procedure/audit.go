package procedure

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

const (
	// AuditName is the key store state blob of the audit trail both
	// procedures append to.
	AuditName = "rollover-audit"

	// MaxAuditRecords bounds the audit trail kept in the store; older
	// records are dropped and counted. The log received every record.
	MaxAuditRecords = 2000
)

// Action names what an audit [Record] records.
type Action string

// Record is one entry of the audit trail. It holds fingerprints,
// receivers, names and times, never keys or passwords.
type Record struct {
	// Time is when the step was taken, by the Manager's clock.
	Time time.Time
	// Renewal is the number of the renewal, counting from 1.
	Renewal uint64
	Action  Action
	// Actor is who took the step (the Options' Actor).
	Actor string
	// NewKey and OldKey are the fingerprints of the renewal's keys, or of
	// the partner's new and old signing certificates; zero where not
	// known yet.
	NewKey wssec.Fingerprint
	OldKey wssec.Fingerprint
	// Receiver is the receiver the record concerns, if any.
	Receiver string
	// Partner is the partner whose signing certificate the record
	// concerns; empty for records of the decryption key's renewal, whose
	// Renewal numbers are the decryption key's. A partner's renewals are
	// numbered on their own.
	Partner string
	// By and Reference are who confirmed on the receiver's side and the
	// confirmation's reference, such as a ticket.
	By        string
	Reference string
	// Note is free text: the caller's note, or what the step did.
	Note string
	// Count is the number of responses an evidence record counts.
	Count uint64
}

type recordJSON struct {
	Time      time.Time `json:"time"`
	Renewal   uint64    `json:"renewal"`
	Action    Action    `json:"action"`
	Actor     string    `json:"actor,omitempty"`
	NewKey    string    `json:"new,omitempty"`
	OldKey    string    `json:"old,omitempty"`
	Receiver  string    `json:"receiver,omitempty"`
	Partner   string    `json:"partner,omitempty"`
	By        string    `json:"by,omitempty"`
	Reference string    `json:"reference,omitempty"`
	Note      string    `json:"note,omitempty"`
	Count     uint64    `json:"count,omitempty"`
}

// AuditDoc is the persisted audit trail.
type AuditDoc struct {
	Version int          `json:"version"`
	Dropped uint64       `json:"dropped,omitempty"`
	Records []recordJSON `json:"records"`
}

// FormatVersion implements [Versioned].
func (a *AuditDoc) FormatVersion() int { return a.Version }

func (r Record) toJSON() recordJSON {
	j := recordJSON{
		Time: r.Time, Renewal: r.Renewal, Action: r.Action, Actor: r.Actor,
		Receiver: r.Receiver, Partner: r.Partner, By: r.By, Reference: r.Reference, Note: r.Note, Count: r.Count,
	}
	if r.NewKey != (wssec.Fingerprint{}) {
		j.NewKey = Hex(r.NewKey)
	}
	if r.OldKey != (wssec.Fingerprint{}) {
		j.OldKey = Hex(r.OldKey)
	}
	return j
}

func (j recordJSON) record() Record {
	r := Record{
		Time: NormTime(j.Time), Renewal: j.Renewal, Action: j.Action, Actor: j.Actor,
		Receiver: j.Receiver, Partner: j.Partner, By: j.By, Reference: j.Reference, Note: j.Note, Count: j.Count,
	}
	r.NewKey, _ = ParseHex(j.NewKey)
	r.OldKey, _ = ParseHex(j.OldKey)
	return r
}

// ReadAudit returns the audit trail, oldest first, and how many older
// records were dropped. It returns a [*StateError] with
// [ErrCorruptState].
func ReadAudit(read Reader) ([]Record, uint64, error) {
	a := &AuditDoc{Version: Version}
	if err := LoadBlob(read, AuditName, a); err != nil {
		return nil, 0, err
	}
	out := make([]Record, len(a.Records))
	for i, j := range a.Records {
		out[i] = j.record()
	}
	return out, a.Dropped, nil
}

// AppendAudit appends recs to the audit trail in tx, dropping the oldest
// records beyond [MaxAuditRecords].
func AppendAudit(tx Blobs, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	a := &AuditDoc{Version: Version}
	if err := LoadBlob(tx.State, AuditName, a); err != nil {
		return err
	}
	for _, r := range recs {
		a.Records = append(a.Records, r.toJSON())
	}
	if n := len(a.Records) - MaxAuditRecords; n > 0 {
		a.Records = slices.Delete(a.Records, 0, n)
		a.Dropped += uint64(n)
	}
	return SetBlob(tx, AuditName, a)
}

// Emit logs the records of a committed transaction to logger, each
// stamped with its time; warn lists the actions logged as warnings.
// A failing handler does not undo a committed step.
func Emit(ctx context.Context, logger *slog.Logger, recs []Record, warn ...Action) {
	for _, r := range recs {
		level := slog.LevelInfo
		if slices.Contains(warn, r.Action) {
			level = slog.LevelWarn
		}
		attrs := []any{slog.Uint64("renewal", r.Renewal), slog.String("action", string(r.Action))}
		add := func(key, v string) {
			if v != "" {
				attrs = append(attrs, slog.String(key, v))
			}
		}
		add("actor", r.Actor)
		if r.NewKey != (wssec.Fingerprint{}) {
			add("new_key", r.NewKey.String())
		}
		if r.OldKey != (wssec.Fingerprint{}) {
			add("old_key", r.OldKey.String())
		}
		add("receiver", r.Receiver)
		add("partner", r.Partner)
		add("by", r.By)
		add("reference", r.Reference)
		add("note", r.Note)
		if r.Count > 0 {
			attrs = append(attrs, slog.Uint64("count", r.Count))
		}
		Log(ctx, logger, r.Time, level, "rollover: "+string(r.Action), attrs...)
	}
}

// Log writes one log record stamped with t.
func Log(ctx context.Context, logger *slog.Logger, t time.Time, level slog.Level, msg string, attrs ...any) {
	h := logger.Handler()
	if ctx == nil {
		ctx = context.Background()
	}
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(t, level, msg, 0)
	r.Add(attrs...)
	_ = h.Handle(ctx, r) // a failing log handler does not undo a committed step
}

// DescribeCert describes a certificate for the audit trail.
func DescribeCert(c *x509.Certificate) string {
	alg := c.PublicKeyAlgorithm.String()
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		alg = fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		alg = "ECDSA-" + k.Curve.Params().Name
	}
	return fmt.Sprintf("%s, %s, serial %s, valid until %s", alg, c.Subject, c.SerialNumber, c.NotAfter.UTC().Format(time.RFC3339))
}
