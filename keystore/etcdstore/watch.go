package etcdstore

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// manifestName is the blob the keystore package keeps its manifest in;
// Watch follows it.
const manifestName = "manifest.json"

// watchReadTimeout bounds the read that starts a watch.
const watchReadTimeout = 5 * time.Second

// Watch returns a channel that receives a value whenever the manifest
// may have changed, starting with one value at once. It reads the
// manifest's revision and watches its key from the next revision on, so
// no change after the read is missed. The channel holds one value and
// coalesces: a reader that is slow sees one value for many changes.
//
// The channel is closed when ctx ends or the watch fails: the revision
// was compacted away, the member lost its leader, or the watch was
// cancelled by the server. The caller then reads the whole state again
// and calls Watch again. While the client cannot reach any member, the
// etcd client retries on its own and the watch resumes where it stopped.
//
// Watch starts one goroutine, which ends with the watch. It returns
// [ErrInvalidArgument] for a nil context, ctx's error, and the errors of
// the first read, which fails after 5 seconds without an answer.
func (b *Backend) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	key := b.blobKey(manifestName)
	// ctx bounds the watch, which lasts; the first read gets a bound of
	// its own, so that a caller cut off from the cluster learns so.
	gctx, cancel := context.WithTimeout(ctx, watchReadTimeout)
	resp, err := b.cli.Get(gctx, key, clientv3.WithKeysOnly())
	cancel()
	if err != nil {
		return nil, fmt.Errorf("etcdstore: watch %s: %w", key, err)
	}
	return b.watchFrom(ctx, key, resp.Header.Revision+1), nil
}

// watchFrom watches key from revision rev on.
func (b *Backend) watchFrom(ctx context.Context, key string, rev int64) <-chan struct{} {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := b.cli.Watch(wctx, key, clientv3.WithRev(rev))
	out := make(chan struct{}, 1)
	out <- struct{}{}
	go func() {
		defer close(out)
		defer cancel()
		for wr := range wch {
			if wr.Err() != nil || wr.Canceled || wr.CompactRevision != 0 {
				return
			}
			if len(wr.Events) == 0 {
				continue // progress notification
			}
			select {
			case out <- struct{}{}:
			default: // a value is pending already
			}
		}
	}()
	return out
}
