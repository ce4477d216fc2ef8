package trial

import _ "embed"

//go:embed example.yaml
var exampleProtocol []byte

// ExampleProtocol returns a commented protocol file modelled on the MISSION
// trial; `rct protocol example` prints it.
func ExampleProtocol() []byte { return append([]byte(nil), exampleProtocol...) }
