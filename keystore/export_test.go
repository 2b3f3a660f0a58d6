package keystore

import "math/rand/v2"

// PowerDisk gives the external tests (which drive the rollover package)
// a directory backend on a powerFS.
type PowerDisk struct {
	p   *powerFS
	dir string
}

// CrashModels is the number of crash models PowerDisk.Crash knows.
const CrashModels = 3

// NewPowerDisk returns an empty simulated disk whose store directory
// will be dir.
func NewPowerDisk(dir string) *PowerDisk {
	return &PowerDisk{p: newPowerFS(), dir: dir}
}

// Backend returns a directory backend on the disk.
func (d *PowerDisk) Backend() *dirBackend { return &dirBackend{dir: d.dir, fsys: d.p} }

// Clone returns an independent copy of the disk.
func (d *PowerDisk) Clone() *PowerDisk { return &PowerDisk{p: d.p.clone(), dir: d.dir} }

// CutBefore cuts the power before the n-th write or sync from now.
func (d *PowerDisk) CutBefore(n int) { d.p.cutBefore(n) }

// Operations returns the writes and syncs since CutBefore.
func (d *PowerDisk) Operations() int { return d.p.operations() }

// Crash keeps what survives a power loss under model (0 to
// CrashModels-1) and turns the power back on.
func (d *PowerDisk) Crash(model int, rng *rand.Rand) { d.p.crash(crashModel(model), rng) }

// ModelName names a crash model.
func ModelName(model int) string { return crashModel(model).String() }

// Files lists the files the process sees.
func (d *PowerDisk) Files() string { return d.p.files() }
