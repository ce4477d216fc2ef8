//go:build !linux || !(amd64 || arm64)

package hugeheap

// Reserve does nothing here: see the package comment.
func Reserve(n int64) {}
