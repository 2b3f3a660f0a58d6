package wssec

import (
	"bytes"
	"crypto/sha256"
	"runtime"
	"testing"
)

// TestHashPipe: whatever is written before the caller joins is hashed by
// the writer, what follows by the caller, in order, with the pipe's own
// buffers reused and the document's slices hashed as they are.
func TestHashPipe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		before, more int // pieces written before the caller joins, and after
	}{
		{"joined first", 0, 6},
		{"joined midway", 3, 5},
		{"joined last", 7, 0},
		{"nothing written", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &hashPipe{h: sha256.New()}
			p.ready.L = &p.mu
			doc := bytes.Repeat([]byte("<a>document text</a>"), 100)
			var all []byte
			buf := p.WriteChunk(nil)
			write := func(i int) {
				if i%2 == 0 {
					buf = append(buf, bytes.Repeat([]byte{byte('a' + i)}, 1000+i)...)
					all = append(all, buf...)
					buf = p.WriteChunk(buf)
					if len(buf) != 0 || cap(buf) == 0 {
						t.Fatalf("WriteChunk returned a buffer of length %d, capacity %d", len(buf), cap(buf))
					}
					return
				}
				part := doc[i*10 : i*10+200]
				all = append(all, part...)
				if n, err := p.Write(part); n != len(part) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			for i := range tc.before {
				write(i)
			}
			got := make(chan []byte)
			go func() { got <- p.sum() }()
			for joined := false; !joined; {
				runtime.Gosched()
				p.mu.Lock()
				joined = p.joined
				p.mu.Unlock()
			}
			for i := tc.before; i < tc.before+tc.more; i++ {
				write(i)
			}
			p.finish()
			want := sha256.Sum256(all)
			if sum := <-got; !bytes.Equal(sum, want[:]) {
				t.Errorf("sum() = %x, want %x", sum, want)
			}
		})
	}
}
