// Package randomize holds the allocation algorithms and their diagnostics:
// simple, complete, permuted blocks, stratified blocks, minimization and
// big-stick designs. It is pure: a seeded source in, allocations out.
//
// (The algorithms land with the randomization issue.)
package randomize
