package keystore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

// Watch returns a channel that receives a value when the manifest may
// have changed, with one value at once; see [Watcher]. It watches the
// store's directory with inotify(7) for files renamed into it, written
// and closed, or deleted. The channel is closed when ctx ends, when the
// directory is removed or moved, or when reading events fails; a queue
// overflow counts as a change. Watch returns the error of inotify_init1
// or inotify_add_watch, such as when the per-user watch limit is
// reached; the caller then relies on polling.
func (d *dirBackend) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("keystore: watch %s: %w", d.dir, err)
	}
	const mask = syscall.IN_MOVED_TO | syscall.IN_CLOSE_WRITE | syscall.IN_DELETE |
		syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_ONLYDIR
	if _, err := syscall.InotifyAddWatch(fd, d.dir, mask); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("keystore: watch %s: %w", d.dir, err)
	}
	// A non-blocking descriptor in an os.File uses the runtime's poller,
	// so Close wakes a pending Read.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	stop := context.AfterFunc(ctx, func() { f.Close() })
	go func() {
		defer close(ch)
		defer stop()
		defer f.Close()
		buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			changed, gone := scanEvents(buf[:n])
			if changed {
				select {
				case ch <- struct{}{}:
				default: // a value is already waiting
				}
			}
			if gone {
				return
			}
		}
	}()
	return ch, nil
}

// scanEvents reports whether events touch the manifest (or may have:
// the queue overflowed) and whether the watch ended.
func scanEvents(b []byte) (changed, gone bool) {
	for len(b) >= syscall.SizeofInotifyEvent {
		// struct inotify_event: wd, mask, cookie, len, then len bytes of
		// name, in the machine's byte order.
		mask := binary.NativeEndian.Uint32(b[4:8])
		end := syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(b[12:16]))
		if end > len(b) {
			return true, false
		}
		name := b[syscall.SizeofInotifyEvent:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		switch {
		case mask&(syscall.IN_IGNORED|syscall.IN_DELETE_SELF|syscall.IN_MOVE_SELF|syscall.IN_UNMOUNT) != 0:
			gone = true
		case mask&syscall.IN_Q_OVERFLOW != 0, string(name) == manifestName:
			changed = true
		}
		b = b[end:]
	}
	return changed, gone
}

var _ Watcher = (*dirBackend)(nil)
