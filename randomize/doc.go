// Package randomize holds the allocation algorithms and their diagnostics:
// simple, complete (fixed group sizes), permuted blocks with sizes drawn at
// random, stratified permuted blocks, minimization (Pocock-Simon, with a
// random element) and the big-stick design. It is pure: a seed in,
// allocations out. It works on group indices; which group is which arm is
// the trial's sealed secret, not this package's business.
//
// The random stream is ChaCha8 keyed by SHA-256 of the seed and a label,
// with integer and float draws written out here (Source): the same seed,
// Version and order of units give the same allocations forever, and golden
// tests pin the first 200 allocations of every method.
package randomize
