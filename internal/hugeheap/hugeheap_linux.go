//go:build linux && (amd64 || arm64)

package hugeheap

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const madvHugepage = 14 // MADV_HUGEPAGE

// Reserve, for a heap of n bytes or more (minReserve) where page faults
// are dear (faultCost), makes the heap hold n bytes more than it does
// (within reservable's bounds) without touching them, and advises the
// kernel to back them with huge pages, the heap below them included. It
// runs a garbage collection: the heap is then as it was, mapped further.
func Reserve(n int64) {
	if n = reservable(n, overcommit(), totalRAM()); n < minReserve || faultCost() < dearFault {
		return
	}
	advise(n)
}

// reservable is how much of n bytes Reserve maps: none where the kernel
// counts mapped memory against a commit limit (vm.overcommit_memory 2:
// the untouched placeholder would count, and the runtime dies when a
// mapping is refused), else at most maxReserve and a quarter of the
// machine's memory.
func reservable(n int64, overcommit string, ram uint64) int64 {
	if overcommit == "2" {
		return 0
	}
	return min(n, maxReserve, int64(min(ram/4, maxReserve)))
}

// overcommit is the kernel's overcommit mode, "" when unknown.
func overcommit() string {
	b, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// totalRAM is the machine's memory in bytes, 0 when unknown.
func totalRAM() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

func advise(n int64) {
	end := grow(int(n))
	// The placeholder is garbage now: collecting it here keeps it out of
	// the next collection's count of what is live, which would let the
	// heap grow to twice it before collecting again.
	runtime.GC()
	// The heap from its first arena to the placeholder's end: the runtime
	// maps a growing heap upwards, and the pages below the placeholder
	// were mapped before it and are free or in use. Where the heap is not
	// in one piece (its arenas found room elsewhere), the placeholder's
	// own arenas. madvise skips the parts that are not mapped, with
	// ENOMEM, and gives the advice to the rest; any error leaves the pages
	// as they were.
	start := uintptr(unsafe.Pointer(low)) &^ (arena - 1)
	if p := (end - uintptr(n)) &^ (arena - 1); start > p || end-start > uintptr(n)+4<<30 {
		start = p
	}
	syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvHugepage)
}

// grow allocates n bytes and returns the address past their end; the
// runtime maps fresh memory for them and, knowing it zero, does not touch
// it.
//
//go:noinline
func grow(n int) uintptr {
	b := make([]byte, n)
	return uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(n)
}

// arena is the size and alignment of the runtime's heap arenas on 64-bit
// Linux.
const arena = 64 << 20

// low is the heap's first object of this package: its arena is the heap's
// first.
var low *[64]byte

func init() { low = new([64]byte) }

// faultCost is the time a first touch of a fresh 4 KB page took, in
// nanoseconds: the least of three rounds of 16 pages (a round the thread
// was descheduled in does not count). Measured once.
var faultCost = sync.OnceValue(func() int64 {
	const pages = 16
	best := int64(1 << 62)
	for range 3 {
		m, err := syscall.Mmap(-1, 0, pages*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return 0
		}
		t := time.Now()
		for i := 0; i < len(m); i += 4096 {
			m[i] = 1
		}
		best = min(best, time.Since(t).Nanoseconds()/pages)
		syscall.Munmap(m)
	}
	return best
})
