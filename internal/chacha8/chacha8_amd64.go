//go:build amd64 && !purego

package chacha8

//go:generate go run gen.go

import "golang.org/x/sys/cpu"

// avx512 says whether block16 can run here.
var avx512 = cpu.X86.HasAVX512F

// block16 computes the 16 ChaCha8 blocks of seed (counters 0 to 15) into
// buf, as chacha8rand lays them out: four groups of four blocks, each
// group's words interleaved.
//
//go:noescape
func block16(seed *[4]uint64, buf *[128]uint64)
