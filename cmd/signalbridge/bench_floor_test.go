package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The disk's floor: what the machine itself costs for durability, measured in the same run as the
// figures so that every latency can be read as a multiple of it (docs/figures-method.md).
//
//   - fsync: one 4 KiB pwrite into a preallocated 1 MiB file, then fsync(2), in the data directory;
//   - commit: one bbolt read-write transaction putting one 64-byte value, with bbolt's default sync
//     (fdatasync on Linux), in a fresh file in the data directory.
//
// The data directory is the one the benchmarks' bbolt files live in: os.TempDir(), so TMPDIR moves
// both. SB_BENCH_FLOOR_SAMPLES sets the samples of each (default 2000).
//
// This test file imports bbolt directly, the only place outside bridge/bolt that does: the floor is
// bbolt's own cost, under the store's code, and must not go through it.

// diskFloor is one measurement of the floor.
type diskFloor struct {
	Dir                string
	FS                 string // file-system type of Dir
	Samples            int
	Fsync50, Fsync99   time.Duration
	FsyncMax           time.Duration
	Commit50, Commit99 time.Duration
	CommitMax          time.Duration
	Err                error
	Took               time.Duration
}

var (
	floorOnce sync.Once
	floorVal  diskFloor
)

// benchFloor measures the floor once per process (the first benchmark that asks pays for it) and
// prints it; later calls return the same figures.
func benchFloor() diskFloor {
	floorOnce.Do(func() {
		floorVal = measureFloor(os.TempDir(), envInt("SB_BENCH_FLOOR_SAMPLES", 2000))
		fmt.Println("  " + floorVal.String())
	})
	return floorVal
}

func measureFloor(parent string, n int) (f diskFloor) {
	start := time.Now()
	defer func() { f.Took = time.Since(start) }()
	dir, err := os.MkdirTemp(parent, "sb-floor-")
	if err != nil {
		return diskFloor{Err: err}
	}
	defer os.RemoveAll(dir)
	f = diskFloor{Dir: parent, FS: fsType(dir), Samples: n}
	fs, err := floorFsync(filepath.Join(dir, "fsync.bin"), n)
	if err != nil {
		f.Err = err
		return f
	}
	cs, err := floorCommit(filepath.Join(dir, "floor.db"), n)
	if err != nil {
		f.Err = err
		return f
	}
	slices.Sort(fs)
	slices.Sort(cs)
	f.Fsync50, f.Fsync99, f.FsyncMax = benchPercentile(fs, 0.50), benchPercentile(fs, 0.99), fs[len(fs)-1]
	f.Commit50, f.Commit99, f.CommitMax = benchPercentile(cs, 0.50), benchPercentile(cs, 0.99), cs[len(cs)-1]
	return f
}

// floorFsync times n rounds of a 4 KiB write at a rotating offset of a preallocated 1 MiB file
// followed by fsync (the write is in the timing: a commit writes before it syncs).
func floorFsync(path string, n int) ([]time.Duration, error) {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	const size, block = 1 << 20, 4096
	if _, err := file.Write(make([]byte, size)); err != nil {
		return nil, err
	}
	if err := file.Sync(); err != nil {
		return nil, err
	}
	buf := make([]byte, block)
	out := make([]time.Duration, 0, n)
	for i := range n {
		binary.LittleEndian.PutUint64(buf, uint64(i))
		t0 := time.Now()
		if _, err := file.WriteAt(buf, int64(i%(size/block))*block); err != nil {
			return nil, err
		}
		if err := file.Sync(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// floorCommit times n bbolt transactions, each putting one 64-byte value under one of 1,000 keys
// (a small, steady file, as a conversation's record is rewritten).
func floorCommit(path string, n int) ([]time.Duration, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	name := []byte("floor")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(name); return err }); err != nil {
		return nil, err
	}
	val := make([]byte, 64)
	out := make([]time.Duration, 0, n)
	for i := range n {
		key := []byte("conversation-" + strconv.Itoa(i%1000))
		binary.LittleEndian.PutUint64(val, uint64(i))
		t0 := time.Now()
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(name).Put(key, val) }); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// fsType names the file system holding dir, from statfs(2)'s magic number.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x01021994:
		return "tmpfs (no disk: fsync is free, the floor is not a disk's)"
	case 0x794C7630:
		return "overlayfs"
	case 0x2FC12FC1:
		return "zfs"
	}
	return fmt.Sprintf("0x%x", uint64(st.Type))
}

func (f diskFloor) String() string {
	if f.Err != nil {
		return "disk floor: not measured: " + f.Err.Error()
	}
	return fmt.Sprintf("disk floor (%s, %s, %d samples each, %s): 4 KiB write+fsync p50 %s p99 %s max %s; bbolt commit of one small put p50 %s p99 %s max %s",
		f.Dir, f.FS, f.Samples, f.Took.Round(time.Millisecond), benchMS(f.Fsync50), benchMS(f.Fsync99), benchMS(f.FsyncMax),
		benchMS(f.Commit50), benchMS(f.Commit99), benchMS(f.CommitMax))
}

// times writes d as a multiple of the floor's bbolt commit at the same percentile (p <= 0.5: p50,
// otherwise p99; the max is compared with the p99 too): "16.70 ms = 14x".
func (f diskFloor) times(d time.Duration, p float64) string {
	ref := f.Commit99
	if p <= 0.5 {
		ref = f.Commit50
	}
	if f.Err != nil || ref <= 0 {
		return benchMS(d)
	}
	return fmt.Sprintf("%s = %s", benchMS(d), multiple(float64(d)/float64(ref)))
}

func multiple(x float64) string {
	if x >= 10 {
		return strconv.FormatFloat(x, 'f', 0, 64) + "x"
	}
	return strconv.FormatFloat(x, 'f', 1, 64) + "x"
}

// latencies formats p50, p99 and max of sorted durations beside the floor.
func (f diskFloor) latencies(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p99 %s, max %s", f.times(benchPercentile(sorted, 0.5), 0.5),
		f.times(benchPercentile(sorted, 0.99), 0.99), f.times(sorted[len(sorted)-1], 1))
}

// TestFloor measures the floor with a few samples (the harness of the figure, not a timing).
func TestFloor(t *testing.T) {
	f := measureFloor(t.TempDir(), 20)
	if f.Err != nil {
		t.Fatal(f.Err)
	}
	if f.Fsync50 <= 0 || f.Commit50 <= 0 || f.Fsync99 < f.Fsync50 || f.Commit99 < f.Commit50 {
		t.Fatalf("floor %+v: want positive, ordered percentiles", f)
	}
	t.Log(f)
}
