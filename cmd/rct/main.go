// Command rct runs and analyses randomized controlled trials of social
// interventions: protocol, enrolment, concealed randomization, blinded
// surveys, register linkage, effect estimation and reports.
package main

import "os"

func main() { os.Exit(Main()) }
