//go:build !amd64 || purego

package chacha8

// avx512 is false here: the standard library's blocks are used.
const avx512 = false

func block16(seed *[4]uint64, buf *[128]uint64) {
	panic("chacha8: no block16 on this machine")
}
