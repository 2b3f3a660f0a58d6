//go:build !unix

package keystore

import (
	"context"
	"errors"
	"os"
)

// lockFile fails: the directory backend needs flock(2).
func lockFile(ctx context.Context, f *os.File) error {
	f.Close()
	return errors.New("keystore: the directory backend needs flock, which this platform lacks")
}
