package survey

import _ "embed"

//go:embed example_codebook.yaml
var exampleCodebook []byte

// ExampleCodebook returns a commented codebook matching the example
// protocol (MISSION): `rct codebook example` prints it.
func ExampleCodebook() []byte { return append([]byte(nil), exampleCodebook...) }
