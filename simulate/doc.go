// Package simulate writes a synthetic MISSION-like trial with known truth
// as the files real users bring, in the trial's own time. Write makes what
// exists before randomization (the protocol, the codebook, Kind en Gezin's
// monthly referral workbooks, simulation.yaml); Fieldwork, given the
// allocation key, plays the world after it: the interviewers' filled
// workbooks (with the mistakes the import refuses, and their corrected
// versions), the case managers' activity log, OCMW and VDAB extracts with
// imperfect identities, and truth.json. Each household's potential
// outcomes are drawn from the seed, never from its arm; the same seed gives
// the same bytes.
package simulate
