package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// errPowerLost is what every operation returns once the power is cut.
var errPowerLost = errors.New("power lost")

// powerFS is a file system that keeps, in memory, what a disk would
// hold after a power loss: a file's content is durable once the file is
// synced, a creation, rename or removal once its directory is synced.
// Everything else is lost by Crash (or, in the other crash models, kept
// in part or whole, as a disk may).
//
// The power can be cut before any write or sync: from then on every
// operation fails with errPowerLost and changes nothing, as if the
// process had died there. Crash then turns the disk into what survives.
type powerFS struct {
	mu sync.Mutex

	durable map[string]*inode // path -> file, as the disk's directories hold them
	log     []dirOp           // creations, renames and removals not yet synced
	dirs    map[string]bool   // directories that exist (durable at once)

	ops    int // write and sync operations so far
	cutAt  int // the operation before which the power is cut; 0 never
	dead   bool
	nextID int
}

type inode struct {
	data    []byte // as the process sees it
	durable []byte // as the disk holds it
}

// dirOp is one change of a directory: path now names node, or nothing
// if node is nil.
type dirOp struct {
	path string
	node *inode
}

func newPowerFS(dirs ...string) *powerFS {
	p := &powerFS{durable: map[string]*inode{}, dirs: map[string]bool{}}
	for _, d := range dirs {
		p.dirs[filepath.Clean(d)] = true
	}
	return p
}

// clone returns an independent copy, for running a step again from the
// same disk.
func (p *powerFS) clone() *powerFS {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &powerFS{durable: map[string]*inode{}, dirs: maps.Clone(p.dirs), nextID: p.nextID}
	copied := map[*inode]*inode{}
	cp := func(n *inode) *inode {
		if n == nil {
			return nil
		}
		if x, ok := copied[n]; ok {
			return x
		}
		x := &inode{data: bytes.Clone(n.data), durable: bytes.Clone(n.durable)}
		copied[n] = x
		return x
	}
	for k, n := range p.durable {
		c.durable[k] = cp(n)
	}
	for _, op := range p.log {
		c.log = append(c.log, dirOp{op.path, cp(op.node)})
	}
	return c
}

// view returns the files as the process sees them.
func (p *powerFS) view() map[string]*inode {
	v := make(map[string]*inode, len(p.durable))
	for k, n := range p.durable {
		v[k] = n
	}
	for _, op := range p.log {
		if op.node == nil {
			delete(v, op.path)
		} else {
			v[op.path] = op.node
		}
	}
	return v
}

// cutBefore makes the power fail before the n-th write or sync from now.
func (p *powerFS) cutBefore(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops, p.cutAt, p.dead = 0, n, false
}

// count counts a write or sync and reports whether it may happen.
func (p *powerFS) count() error {
	if p.dead {
		return errPowerLost
	}
	p.ops++
	if p.cutAt > 0 && p.ops >= p.cutAt {
		p.dead = true
		return errPowerLost
	}
	return nil
}

// operations returns how many writes and syncs happened since cutBefore.
func (p *powerFS) operations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops
}

// crashModel says what of the unsynced state survives a crash.
type crashModel int

const (
	// loseUnsynced keeps only what was synced.
	loseUnsynced crashModel = iota
	// keepAll keeps everything, as a process kill does.
	keepAll
	// keepSome keeps a random prefix of the directory changes and, of
	// each file, either its synced or its latest content.
	keepSome
)

func (m crashModel) String() string {
	return [...]string{"lose-unsynced", "keep-all", "keep-some"}[m]
}

// crash turns the disk into what survives a power loss under the model,
// and turns the power back on.
func (p *powerFS) crash(model crashModel, rng *rand.Rand) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := 0
	switch model {
	case keepAll:
		keep = len(p.log)
	case keepSome:
		keep = rng.IntN(len(p.log) + 1)
	}
	for _, op := range p.log[:keep] {
		if op.node == nil {
			delete(p.durable, op.path)
		} else {
			p.durable[op.path] = op.node
		}
	}
	p.log = nil
	seen := map[*inode]bool{}
	for _, n := range p.durable {
		if seen[n] {
			continue
		}
		seen[n] = true
		if model == keepAll || model == keepSome && rng.IntN(2) == 0 {
			n.durable = bytes.Clone(n.data)
		}
		n.data = bytes.Clone(n.durable)
	}
	p.ops, p.cutAt, p.dead = 0, 0, false
}

func (p *powerFS) Mkdir(path string, perm fs.FileMode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.count(); err != nil {
		return err
	}
	path = filepath.Clean(path)
	if p.dirs[path] {
		return &fs.PathError{Op: "mkdir", Path: path, Err: fs.ErrExist}
	}
	p.dirs[path] = true
	return nil
}

func (p *powerFS) Stat(path string) (fs.FileInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errPowerLost
	}
	if p.dirs[filepath.Clean(path)] {
		return dirInfo(filepath.Base(path)), nil
	}
	return nil, &fs.PathError{Op: "stat", Path: path, Err: fs.ErrNotExist}
}

func (p *powerFS) ReadFile(path string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errPowerLost
	}
	n, ok := p.view()[filepath.Clean(path)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return bytes.Clone(n.data), nil
}

func (p *powerFS) ListFiles(dir string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errPowerLost
	}
	dir = filepath.Clean(dir)
	var names []string
	for path := range p.view() {
		if filepath.Dir(path) == dir {
			names = append(names, filepath.Base(path))
		}
	}
	slices.Sort(names)
	return names, nil
}

func (p *powerFS) CreateTemp(dir, pattern string) (tempFile, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.count(); err != nil {
		return nil, err
	}
	p.nextID++
	path := filepath.Join(filepath.Clean(dir), fmt.Sprintf("%s%d", pattern, p.nextID))
	n := &inode{}
	p.log = append(p.log, dirOp{path, n})
	return &powerFile{p: p, n: n, name: path}, nil
}

func (p *powerFS) Rename(oldpath, newpath string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.count(); err != nil {
		return err
	}
	n, ok := p.view()[filepath.Clean(oldpath)]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: fs.ErrNotExist}
	}
	p.log = append(p.log, dirOp{filepath.Clean(newpath), n}, dirOp{filepath.Clean(oldpath), nil})
	return nil
}

func (p *powerFS) Remove(path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.count(); err != nil {
		return err
	}
	if _, ok := p.view()[filepath.Clean(path)]; !ok {
		return &fs.PathError{Op: "remove", Path: path, Err: fs.ErrNotExist}
	}
	p.log = append(p.log, dirOp{filepath.Clean(path), nil})
	return nil
}

func (p *powerFS) SyncDir(dir string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.count(); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	var rest []dirOp
	for _, op := range p.log {
		if filepath.Dir(op.path) != dir {
			rest = append(rest, op)
			continue
		}
		if op.node == nil {
			delete(p.durable, op.path)
		} else {
			p.durable[op.path] = op.node
		}
	}
	p.log = rest
	return nil
}

// Lock is a process-local lock: the simulation has one process.
func (p *powerFS) Lock(ctx context.Context, path string) (func() error, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil, errPowerLost
	}
	return func() error { return nil }, nil
}

// files returns the names and contents of the files as the process sees
// them, for failure messages.
func (p *powerFS) files() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	v := p.view()
	for _, k := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(&b, "%s (%d bytes)\n", k, len(v[k].data))
	}
	return b.String()
}

type powerFile struct {
	p    *powerFS
	n    *inode
	name string
}

func (f *powerFile) Name() string { return f.name }

func (f *powerFile) Chmod(fs.FileMode) error {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	return f.p.count()
}

func (f *powerFile) Write(b []byte) (int, error) {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if err := f.p.count(); err != nil {
		return 0, err
	}
	f.n.data = append(f.n.data, b...)
	return len(b), nil
}

func (f *powerFile) Sync() error {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if err := f.p.count(); err != nil {
		return err
	}
	f.n.durable = bytes.Clone(f.n.data)
	return nil
}

func (f *powerFile) Close() error {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if f.p.dead {
		return errPowerLost
	}
	return nil
}

type dirInfo string

func (d dirInfo) Name() string       { return string(d) }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | dirPerm }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }
