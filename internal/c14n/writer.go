package c14n

import (
	"fmt"
	"io"
)

// ChunkWriter is an io.Writer that takes whole buffers: output for it is
// gathered in a buffer it provides, which is handed over rather than
// copied when full. Write is then called only with slices of the input
// document, which stay unmodified for as long as the call writing them
// lasts.
type ChunkWriter interface {
	io.Writer
	// WriteChunk takes buf (nil on the first call), full of output the
	// caller no longer touches, and returns an empty buffer with room
	// for the next.
	WriteChunk(buf []byte) []byte
}

// newWriter returns the writer of one call, for w, writing at most max
// bytes (0: no bound).
func newWriter(w io.Writer, max int64) writer {
	if cw, ok := w.(ChunkWriter); ok {
		return writer{w: w, cw: cw, max: max, buf: cw.WriteChunk(nil)[:0]}
	}
	return writer{w: w, max: max, buf: make([]byte, 0, bufferSize)}
}

// writer buffers output for w, counts it and enforces the byte limit.
type writer struct {
	w   io.Writer
	cw  ChunkWriter // w, if it is one
	buf []byte
	n   int64
	max int64
	err error
	// pend is output not buffered yet: a slice of the input document,
	// which span extends while what it is given follows on in the
	// document, so that a run of canonical markup and text is copied
	// once, by one call, however many pieces it was read in.
	pend []byte
}

// count adds k bytes to the output's size and reports whether the
// output may go on.
func (w *writer) count(k int) bool {
	if w.err != nil {
		return false
	}
	w.n += int64(k)
	if w.max > 0 && w.n > w.max {
		w.err = ErrTooLarge
		return false
	}
	return true
}

// span writes b, a slice of the document that stays unmodified until
// the output is flushed.
func (w *writer) span(b []byte) {
	if len(b) == 0 || !w.count(len(b)) {
		return
	}
	if n := len(w.pend); n > 0 && n+len(b) <= cap(w.pend) && &w.pend[:n+1][n] == &b[0] {
		w.pend = w.pend[:n+len(b)]
		return
	}
	w.putPend()
	w.pend = b
}

// putPend moves the pending span to the buffer (or to w).
func (w *writer) putPend() {
	if len(w.pend) > 0 {
		p := w.pend
		w.pend = nil
		w.put(p)
	}
}

func (w *writer) str(s string) {
	w.putPend()
	if !w.count(len(s)) {
		return
	}
	for len(s) > 0 {
		if len(w.buf) == cap(w.buf) {
			if w.flushBuf() != nil {
				return
			}
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], s)
		w.buf = w.buf[:len(w.buf)+k]
		s = s[k:]
	}
}

// write is str for bytes.
func (w *writer) write(b []byte) {
	w.putPend()
	if w.count(len(b)) {
		w.put(b)
	}
}

// put buffers b, counted already. A run longer than the buffer goes to
// w directly once the buffer is flushed, as a large text copied verbatim
// gains nothing from a copy.
func (w *writer) put(b []byte) {
	if w.err != nil {
		return
	}
	if len(b) <= cap(w.buf)-len(w.buf) {
		w.buf = append(w.buf, b...)
		return
	}
	if len(b) >= cap(w.buf) {
		if w.flushBuf() == nil {
			if _, err := w.w.Write(b); err != nil {
				w.err = fmt.Errorf("c14n: write: %w", err)
			}
		}
		return
	}
	k := copy(w.buf[len(w.buf):cap(w.buf)], b)
	w.buf = w.buf[:cap(w.buf)]
	if w.flushBuf() == nil {
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
	w.putPend()
	if !w.count(1) {
		return
	}
	if len(w.buf) == cap(w.buf) && w.flushBuf() != nil {
		return
	}
	w.buf = append(w.buf, b)
}

// flush writes everything out.
func (w *writer) flush() error {
	w.putPend()
	return w.flushBuf()
}

func (w *writer) flushBuf() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 && w.cw != nil {
		w.buf = w.cw.WriteChunk(w.buf)[:0]
		return nil
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
