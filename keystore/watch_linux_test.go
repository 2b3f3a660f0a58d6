package keystore

import (
	"encoding/binary"
	"syscall"
	"testing"
)

// inotifyEvent encodes one event as the kernel writes it.
func inotifyEvent(mask uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 1 + 15) / 16 * 16 // NUL-padded
	}
	b := make([]byte, syscall.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[12:], uint32(n))
	copy(b[syscall.SizeofInotifyEvent:], name)
	return b
}

func TestScanEvents(t *testing.T) {
	t.Parallel()
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	tests := []struct {
		name          string
		events        []byte
		changed, gone bool
	}{
		{"manifest renamed in", inotifyEvent(syscall.IN_MOVED_TO, manifestName), true, false},
		{"key blob written", inotifyEvent(syscall.IN_MOVED_TO, "old.3.p12"), false, false},
		{"temporary file", inotifyEvent(syscall.IN_CLOSE_WRITE, ".tmp-manifest.json-123"), false, false},
		{"blob then manifest", cat(inotifyEvent(syscall.IN_MOVED_TO, "new.4.p12"), inotifyEvent(syscall.IN_MOVED_TO, manifestName)), true, false},
		{"queue overflow", inotifyEvent(syscall.IN_Q_OVERFLOW, ""), true, false},
		{"directory removed", inotifyEvent(syscall.IN_DELETE_SELF, ""), false, true},
		{"watch removed", inotifyEvent(syscall.IN_IGNORED, ""), false, true},
		{"truncated", inotifyEvent(syscall.IN_MOVED_TO, manifestName)[:syscall.SizeofInotifyEvent+2], true, false},
		{"empty", nil, false, false},
	}
	for _, tc := range tests {
		changed, gone := scanEvents(tc.events)
		if changed != tc.changed || gone != tc.gone {
			t.Errorf("scanEvents(%s) = %v, %v; want %v, %v", tc.name, changed, gone, tc.changed, tc.gone)
		}
	}
}
