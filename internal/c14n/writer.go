package c14n

import (
	"fmt"
	"io"
)

// writer buffers output for w, counts it and enforces the byte limit.
type writer struct {
	w   io.Writer
	buf []byte
	n   int64
	max int64
	err error
}

func (w *writer) str(s string) {
	if w.err != nil {
		return
	}
	w.n += int64(len(s))
	if w.max > 0 && w.n > w.max {
		w.err = ErrTooLarge
		return
	}
	for len(s) > 0 {
		if len(w.buf) == cap(w.buf) {
			if w.flush() != nil {
				return
			}
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], s)
		w.buf = w.buf[:len(w.buf)+k]
		s = s[k:]
	}
}

// write is str for bytes. A run longer than the buffer goes to w
// directly once the buffer is flushed, as a large text copied verbatim
// gains nothing from a copy.
func (w *writer) write(b []byte) {
	if w.err != nil {
		return
	}
	if len(b) <= cap(w.buf)-len(w.buf) {
		w.n += int64(len(b))
		if w.max > 0 && w.n > w.max {
			w.err = ErrTooLarge
			return
		}
		w.buf = append(w.buf, b...)
		return
	}
	w.n += int64(len(b))
	if w.max > 0 && w.n > w.max {
		w.err = ErrTooLarge
		return
	}
	if len(b) >= cap(w.buf) {
		if w.flush() == nil {
			if _, err := w.w.Write(b); err != nil {
				w.err = fmt.Errorf("c14n: write: %w", err)
			}
		}
		return
	}
	k := copy(w.buf[len(w.buf):cap(w.buf)], b)
	w.buf = w.buf[:cap(w.buf)]
	if w.flush() == nil {
		w.buf = append(w.buf, b[k:]...)
	}
}

// fail stops the output with err, unless it stopped already.
func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *writer) byte(b byte) {
	if w.err != nil {
		return
	}
	w.n++
	if w.max > 0 && w.n > w.max {
		w.err = ErrTooLarge
		return
	}
	if len(w.buf) == cap(w.buf) && w.flush() != nil {
		return
	}
	w.buf = append(w.buf, b)
}

func (w *writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 {
		if _, err := w.w.Write(w.buf); err != nil {
			w.err = fmt.Errorf("c14n: write: %w", err)
			return w.err
		}
		w.buf = w.buf[:0]
	}
	return nil
}
