package keystore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

const (
	// defaultPollInterval is how often a follower reads the manifest
	// when nothing was pushed: the backstop for missed notifications and
	// backends without them.
	defaultPollInterval = time.Second
	// defaultHolderTTL is how long a holder counts as live after its
	// last heartbeat.
	defaultHolderTTL = 30 * time.Second
	// defaultUsageInterval is the least time between two usage writes
	// of one follower.
	defaultUsageInterval = 10 * time.Second
	// closeTimeout bounds the I/O a stopping follower does to leave the
	// store tidy.
	closeTimeout = 10 * time.Second
)

// FollowOptions configures [Follow]. The zero value is the default. A
// Follower copies its FollowOptions; changing them afterwards has no
// effect.
type FollowOptions struct {
	// Store configures the Store the follower opens: its clock (also for
	// heartbeats and usage times) and randomness (also for the
	// self-test's encryption).
	Store Options

	// PollInterval is how often the follower reads the manifest besides
	// the backend's notifications ([Watcher]), and how often it
	// heart-beats and writes usage when due. If zero, 1 second.
	// Negative values are refused.
	PollInterval time.Duration

	// NewTicker starts the polling ticker: it returns the channel of
	// ticks and the function that stops it. If nil, [time.NewTicker].
	// Tests pass a channel they tick by hand.
	NewTicker func(d time.Duration) (ticks <-chan time.Time, stop func())

	// HolderID names this process among the store's holders; it must
	// use the alias alphabet (ASCII letters, digits, '.', '_', '-'). If
	// empty, the host name, the process ID and random digits.
	HolderID string

	// Host is the host name in the holder record. If empty, the
	// operating system's host name ([os.Hostname]).
	Host string

	// HolderTTL is how long after its last heartbeat this holder counts
	// as live; it heart-beats every third of it. If zero, 30 seconds.
	// Values below two PollIntervals are refused: the holder would
	// expire between two heartbeats.
	HolderTTL time.Duration

	// UsageInterval is the least time between two writes of this
	// process's usage evidence, which bounds the write rate whatever the
	// traffic. If zero, 10 seconds. Negative values are refused.
	UsageInterval time.Duration

	// Trusted, if set, returns the fingerprints of the signing
	// certificates this process trusts to verify partners' responses
	// (such as rollover/signer's Manager.SyncTrustRings), which the holder
	// record then lists ([Holder.Trusted]), so that a partner is told its
	// new certificate is trusted only once every holder trusts it. It is
	// called from the follower's goroutine before each registration, and
	// may synchronize the trust rings first.
	Trusted func(ctx context.Context) []wssec.Fingerprint

	// OnError, if set, is called with each error following the store,
	// such as an unreadable or corrupt manifest, from the follower's
	// goroutine. The follower keeps the last good ring meanwhile. It must
	// not call the Follower's Close.
	OnError func(error)

	// OnReload, if set, is called from the follower's goroutine after the
	// follower loaded a new generation of the store and registered it.
	// It must not call the Follower's Close.
	OnReload func(generation uint64)

	// Logger receives a record when following fails and when it
	// recovers. If nil, slog.Default(). Nothing logged contains key
	// material or passwords.
	Logger *slog.Logger
}

func (o *FollowOptions) pollInterval() time.Duration {
	if o.PollInterval == 0 {
		return defaultPollInterval
	}
	return o.PollInterval
}

func (o *FollowOptions) holderTTL() time.Duration {
	if o.HolderTTL == 0 {
		return defaultHolderTTL
	}
	return o.HolderTTL
}

func (o *FollowOptions) usageInterval() time.Duration {
	if o.UsageInterval == 0 {
		return defaultUsageInterval
	}
	return o.UsageInterval
}

func (o *FollowOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func (o *FollowOptions) newTicker(d time.Duration) (<-chan time.Time, func()) {
	if o.NewTicker == nil {
		t := time.NewTicker(d)
		return t.C, t.Stop
	}
	return o.NewTicker(d)
}

func (o *FollowOptions) validate() error {
	switch {
	case o.PollInterval < 0:
		return fmt.Errorf("%w: negative PollInterval %v", ErrInvalidOptions, o.PollInterval)
	case o.UsageInterval < 0:
		return fmt.Errorf("%w: negative UsageInterval %v", ErrInvalidOptions, o.UsageInterval)
	case o.HolderTTL < 0 || o.holderTTL() < 2*o.pollInterval():
		return fmt.Errorf("%w: HolderTTL %v is below two PollIntervals (%v)", ErrInvalidOptions, o.holderTTL(), o.pollInterval())
	case o.holderTTL() > 24*time.Hour:
		return fmt.Errorf("%w: HolderTTL %v is above a day", ErrInvalidOptions, o.holderTTL())
	case o.HolderID != "" && !validName(o.HolderID):
		return fmt.Errorf("%w: HolderID %s", ErrInvalidName, quoteName(o.HolderID))
	}
	return nil
}

// Follower keeps a key ring in line with a store for a running
// application: it reloads the store when the backend signals a change
// ([Watcher]) and on every poll, and swaps the ring's contents
// atomically, so Decryptors built on [Follower.KeyRing] pick up a new key
// within moments of its commit and never block. If the store is briefly
// unreadable or corrupt, the ring keeps its last good state and the
// error is reported ([FollowOptions.OnError], the Logger,
// [Follower.Ready]).
//
// On a backend that keeps records ([RecordBackend]) the follower is a
// holder ([Holder]): it registers its ID, host, process ID, the
// generation it loaded and the keys of its ring with the result of a
// self-test of each (a sample encrypted to the key's certificate, with
// [wssec.Encryptor], decrypted with the key in this process), and
// heart-beats. It also writes which key decrypted messages and when, as
// the ring counts them ([wssec.KeyRing.Snapshot]), at most once per
// [FollowOptions.UsageInterval]; the decrypt path does no extra work for
// it.
//
// A Follower runs one goroutine until its context ends or
// [Follower.Close] is called; then it writes its last usage and removes
// its holder record. It is safe for concurrent use.
type Follower struct {
	s     *Store
	ring  *wssec.KeyRing
	rb    RecordBackend // nil if the backend keeps no records
	opts  FollowOptions
	id    string
	host  string
	start time.Time

	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	err      error                          // last error following; nil when healthy
	tested   map[wssec.Fingerprint]string   // self-test failures by key; "" passed
	used     map[wssec.Fingerprint]KeyUsage // usage as last written
	beatAt   time.Time                      // last heartbeat
	usageAt  time.Time                      // last usage write
	closeErr error                          // result of the cleanup
	lastSeen map[wssec.Fingerprint]uint64   // ring counts at the last usage write
}

// Follow opens the store in b, as [Open] does, and follows it until ctx
// ends or [Follower.Close] is called. Before it returns, the ring holds
// the store's current keys and, on a [RecordBackend], the process is
// registered as a holder, so a renewal waiting for holders sees it at
// once.
//
// Follow returns the errors of [Open]; [ErrNoCurrentKey] if the store
// has no current key yet; [ErrInvalidOptions] or [ErrInvalidName] for
// opts out of range; and the backend's I/O errors registering the
// holder. It uses opts.Store.Now and opts.Store.Rand.
func Follow(ctx context.Context, b Backend, password PasswordSource, opts FollowOptions) (*Follower, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s, err := Open(ctx, b, password, opts.Store)
	if err != nil {
		return nil, err
	}
	ring, err := s.KeyRing()
	if err != nil {
		return nil, err
	}
	f := &Follower{s: s, ring: ring, opts: opts, id: opts.HolderID, host: opts.Host,
		tested: map[wssec.Fingerprint]string{}, used: map[wssec.Fingerprint]KeyUsage{},
		lastSeen: map[wssec.Fingerprint]uint64{}, done: make(chan struct{})}
	f.start = s.opts.now()
	if f.host == "" {
		f.host, _ = os.Hostname()
	}
	if f.id == "" {
		f.id = defaultHolderID(f.host, s.opts.rand())
	}
	f.rb, _ = b.(RecordBackend)
	f.selfTest()
	if f.rb != nil {
		f.pruneHolders(ctx)
		if err := f.beat(ctx); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	go f.run(runCtx)
	return f, nil
}

// defaultHolderID is the host name (in the name alphabet), the process
// ID and eight random hex digits.
func defaultHolderID(host string, r io.Reader) string {
	clean := strings.Map(func(c rune) rune {
		if c < 128 && (c == '-' || c == '.' || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return c
		}
		return '-'
	}, host)
	clean = strings.TrimLeft(clean, "-._")
	if len(clean) > 40 {
		clean = clean[:40]
	}
	var rnd [4]byte
	if _, err := r.Read(rnd[:]); err != nil {
		rand.Read(rnd[:])
	}
	id := strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:])
	if clean != "" {
		id = clean + "-" + id
	}
	return id
}

// KeyRing returns the ring the follower keeps current. It is the
// store's read-only ring ([Store.KeyRing]); the same value on every call.
// Decrypt with it through a [wssec.Decryptor], or an HTTP client's
// responses through a [wssec.Transport]:
//
//	client := &http.Client{Transport: &wssec.Transport{Decryptor: &wssec.Decryptor{Keys: f.KeyRing()}}}
func (f *Follower) KeyRing() *wssec.KeyRing { return f.ring }

// Ready returns nil if the follower is fit to decrypt for a renewal in
// progress: its last reload of the store succeeded (otherwise the error
// wraps the reload's error too) and, on a
// [RecordBackend], its holder record was last written less than the
// HolderTTL ago by the store's clock. Otherwise it returns an error
// wrapping [ErrNotReady] that says why. Use it as the application's
// readiness probe, so that a load balancer stops sending work to it.
//
// A follower cut off from the store (such as from every etcd member it
// knows) cannot load a new key, and cannot write its holder record
// either: its record expires after the HolderTTL (on etcd, its lease
// lapses), after which renewals no longer wait for it and receivers may
// be told of a key it lacks. Every read and write of the store the
// follower does is bounded by a third of the HolderTTL, so Ready reports
// the failure within moments of the next poll. Once the store can be
// reached again, the follower reloads it, registers again with what it
// now holds, and is ready. A follower that can write its record but not
// read the store (a corrupt manifest) registers with
// [Holder.Error] set, which renewals report as a laggard.
//
// Ready uses the store's clock and is safe for concurrent use.
func (f *Follower) Ready() error {
	now := f.s.opts.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.err != nil:
		return fmt.Errorf("%w: holder %s: reading the store failed: %w", ErrNotReady, f.id, f.err)
	case f.rb != nil && !now.Before(f.beatAt.Add(f.opts.holderTTL())):
		return fmt.Errorf("%w: holder %s: holder record not written since %s, it expired", ErrNotReady, f.id,
			f.beatAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// ioContext bounds one read or write of the store by the follower, so
// that a store it cannot reach is reported as an error instead of
// stalling the follower.
func (f *Follower) ioContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.opts.holderTTL()/3)
}

// Close stops the follower and waits until it stopped: it writes the
// usage not yet written and removes its holder record (the usage record
// stays). It returns the error of that last I/O, and the same on every
// further call. The ring keeps its last state and still decrypts.
func (f *Follower) Close() error {
	if f == nil || f.cancel == nil {
		return nil
	}
	f.cancel()
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closeErr
}

// run is the follower's goroutine.
func (f *Follower) run(ctx context.Context) {
	defer close(f.done)
	defer f.shutdown(ctx)
	ticks, stop := f.opts.newTicker(f.opts.pollInterval())
	defer stop()
	watch := f.watch(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-watch:
			if !ok {
				// The watch failed: read everything again, then watch
				// again (or, if that fails, rely on polling until the
				// next tick tries again).
				watch = nil
				f.refresh(ctx)
				watch = f.watch(ctx)
				continue
			}
			f.refresh(ctx)
		case <-ticks:
			f.refresh(ctx)
			if watch == nil {
				watch = f.watch(ctx)
			}
			f.due(ctx)
			f.destroyDisabled(ctx)
		}
	}
}

// watch starts the backend's notifications, if it has them.
func (f *Follower) watch(ctx context.Context) <-chan struct{} {
	w, ok := f.s.b.(Watcher)
	if !ok || ctx.Err() != nil {
		return nil
	}
	ch, err := w.Watch(ctx)
	if err != nil {
		if !errors.Is(err, errors.ErrUnsupported) {
			f.opts.logger().LogAttrs(ctx, slog.LevelWarn, "keystore: watching the store failed; polling only",
				slog.String("holder", f.id), slog.String("error", err.Error()))
		}
		return nil
	}
	return ch
}

// refresh reloads the store and, after a change, self-tests the new keys
// and registers again.
func (f *Follower) refresh(ctx context.Context) {
	rctx, cancel := f.ioContext(ctx)
	changed, err := f.s.Reload(rctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	f.mu.Lock()
	prev := f.err
	f.err = err
	f.mu.Unlock()
	log := f.opts.logger()
	switch {
	case err != nil:
		if f.opts.OnError != nil {
			f.opts.OnError(err)
		}
		if prev == nil || prev.Error() != err.Error() {
			log.LogAttrs(ctx, slog.LevelError, "keystore: following the store failed; keeping the last key ring",
				slog.String("holder", f.id), slog.Uint64("generation", f.s.View().Generation()), slog.String("error", err.Error()))
			f.beatLogged(ctx)
		}
		return
	case prev != nil:
		log.LogAttrs(ctx, slog.LevelInfo, "keystore: following the store again",
			slog.String("holder", f.id), slog.Uint64("generation", f.s.View().Generation()))
	}
	if !changed && prev == nil {
		return
	}
	f.selfTest()
	f.beatLogged(ctx)
	if changed && f.opts.OnReload != nil {
		f.opts.OnReload(f.s.View().Generation())
	}
}

// due heart-beats and writes usage when their time has come.
func (f *Follower) due(ctx context.Context) {
	if f.rb == nil {
		return
	}
	now := f.s.opts.now()
	f.mu.Lock()
	beat := !now.Before(f.beatAt.Add(f.opts.holderTTL() / 3))
	usage := !now.Before(f.usageAt.Add(f.opts.usageInterval()))
	f.mu.Unlock()
	if beat {
		f.beatLogged(ctx)
	}
	if usage {
		uctx, cancel := f.ioContext(ctx)
		err := f.writeUsage(uctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			f.report(ctx, "keystore: writing usage evidence failed", err)
		}
	}
}

func (f *Follower) report(ctx context.Context, msg string, err error) {
	if f.opts.OnError != nil {
		f.opts.OnError(err)
	}
	f.opts.logger().LogAttrs(ctx, slog.LevelError, msg, slog.String("holder", f.id), slog.String("error", err.Error()))
}

func (f *Follower) beatLogged(ctx context.Context) {
	if f.rb == nil {
		return
	}
	bctx, cancel := f.ioContext(ctx)
	defer cancel()
	if err := f.beat(bctx); err != nil && ctx.Err() == nil {
		f.report(ctx, "keystore: registering as a holder failed", err)
	}
}

// shutdown writes the last usage and removes the holder record.
func (f *Follower) shutdown(parent context.Context) {
	if f.rb == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), closeTimeout)
	defer cancel()
	err := errors.Join(f.writeUsage(ctx), f.rb.DeleteRecord(ctx, recordHolders, f.id))
	f.mu.Lock()
	f.closeErr = err
	f.mu.Unlock()
}
