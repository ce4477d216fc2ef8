// Package hugeheap asks the kernel to back the Go heap with huge pages
// (2 MB) on a machine where a page fault is dear, so that a command that
// fills hundreds of megabytes of heap takes one fault per 2 MB instead of
// one per 4 KB.
//
// In a virtual machine that traps each fault, as the one BENCHMARKS.md
// measures on, a first touch of a 4 KB page costs 13–15 µs (about 0.2 µs
// on a laptop): the faults were a fifth of keyed analyze's CPU time at
// 80,000 families. Where transparent huge pages are given only on request
// (/sys/kernel/mm/transparent_hugepage/enabled = madvise, Debian's and
// Ubuntu's default), the heap gets none: the Go runtime stopped asking for
// them in Go 1.21.1, because a fault in memory so marked may stall in the
// kernel's compaction where free memory is fragmented
// (golang/go#61718). So Reserve asks only where a fault is measured dear:
// there it saves seconds, elsewhere too little to risk the stall.
//
// The runtime maps its heap in pieces as it grows and the advice holds
// for what is mapped, so it cannot be given once for all: Reserve maps
// the heap a command is about to fill first, then advises it. The advice
// changes no program's meaning, only how its memory is backed; with THP
// set to always it is redundant, with never it does nothing, and
// elsewhere than on Linux on amd64 or arm64 Reserve is a no-op.
package hugeheap

// minReserve is the least heap worth a reserve: the reserve's own cost is
// 1–5 ms where faults are dear (the runtime's bookkeeping for the mapped
// heap, a probe, a collection), more than a command on the demo's trial
// saves with it.
const minReserve = 64 << 20

// maxReserve bounds what Reserve maps: address space only, but its
// bookkeeping (8 bytes for every 8 KB page) is touched.
const maxReserve = 8 << 30

// dearFault is the cost of a first touch of a page above which huge pages
// are asked for: several times a bare-metal or hardware-virtualized fault
// (0.2–2 µs), well under a trapped one.
const dearFault = 5000 // ns
