//go:build !linux

package keystore

import (
	"context"
	"errors"
	"fmt"
)

// Watch reports that this platform has no change notifications for a
// directory store; followers poll it. See [Watcher].
func (d *dirBackend) Watch(ctx context.Context) (<-chan struct{}, error) {
	return nil, fmt.Errorf("keystore: watch %s: %w", d.dir, errors.ErrUnsupported)
}
