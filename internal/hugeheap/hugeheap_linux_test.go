//go:build linux && (amd64 || arm64)

package hugeheap

import (
	"bufio"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// thp skips a test where the kernel has no transparent huge pages: madvise
// refuses the advice there, and Reserve leaves the heap as it is.
func thp(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("no transparent huge pages in this kernel: %v", err)
	}
}

// vmFlags returns the flags of the mapping that holds address a, from
// /proc/self/smaps.
func vmFlags(t *testing.T, a uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := mapping(line); ok {
			in = lo <= a && a < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimPrefix(line, "VmFlags:")
		}
	}
	t.Fatalf("no mapping holds %#x", a)
	return ""
}

// mapping reads the address range of a mapping's first line in smaps.
func mapping(line string) (lo, hi uintptr, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	return uintptr(x), uintptr(y), err1 == nil && err2 == nil
}

// TestAdvise: memory the heap hands out after a reserve is advised to huge
// pages (VmFlags "hg"), however dear faults are on this machine.
func TestAdvise(t *testing.T) {
	thp(t)
	if before := make([]byte, 32<<20); strings.Contains(vmFlags(t, uintptr(unsafe.Pointer(&before[0]))), " hg") {
		t.Skip("the heap is already advised to huge pages")
	}
	advise(256 << 20)
	for _, n := range []int{64, 16 << 10, 4 << 20} {
		b := make([]byte, n)
		if flags := vmFlags(t, uintptr(unsafe.Pointer(&b[0]))); !strings.Contains(flags, " hg") {
			t.Errorf("a %d-byte allocation after the reserve is in a mapping without hg:%s", n, flags)
		}
		runtime.KeepAlive(b)
	}
}

// TestAdviseLeavesHeap: the placeholder is collected, so the heap's
// objects and its goal are what they were, not 192 MB more.
func TestAdviseLeavesHeap(t *testing.T) {
	advise(192 << 20)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	for _, x := range s {
		if v := x.Value.Uint64(); v > 128<<20 {
			t.Errorf("%s = %d after a 192 MB reserve", x.Name, v)
		}
	}
}

// TestReserveSmall: a heap under minReserve is not reserved: no
// collection, nothing mapped.
func TestReserveSmall(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	Reserve(minReserve - 1)
	runtime.ReadMemStats(&after)
	if after.NumGC != before.NumGC || after.HeapSys > before.HeapSys {
		t.Errorf("Reserve(%d): %d collections, heap mapped %d → %d bytes", minReserve-1, after.NumGC-before.NumGC, before.HeapSys, after.HeapSys)
	}
}

// TestReservable: nothing where mapped memory counts against a commit
// limit; else at most maxReserve and a quarter of the machine's memory.
func TestReservable(t *testing.T) {
	for _, c := range []struct {
		n          int64
		overcommit string
		ram        uint64
		want       int64
	}{
		{1 << 30, "0", 24 << 30, 1 << 30},
		{1 << 30, "1", 24 << 30, 1 << 30},
		{1 << 30, "", 24 << 30, 1 << 30},
		{1 << 30, "2", 24 << 30, 0},
		{1 << 30, "0", 2 << 30, 512 << 20},
		{1 << 30, "0", 0, 0},
		{20 << 30, "0", 256 << 30, maxReserve},
	} {
		if got := reservable(c.n, c.overcommit, c.ram); got != c.want {
			t.Errorf("reservable(%d, %q, %d) = %d, want %d", c.n, c.overcommit, c.ram, got, c.want)
		}
	}
	if ram := totalRAM(); ram < 256<<20 {
		t.Errorf("this machine's memory: %d bytes", ram)
	}
}

// TestFaultCost: the probe measures a plausible time.
func TestFaultCost(t *testing.T) {
	c := faultCost()
	if c <= 0 || c > int64(1e8) {
		t.Fatalf("a first touch of a page took %d ns", c)
	}
	t.Logf("a first touch of a page: %d ns (dear above %d)", c, dearFault)
}
