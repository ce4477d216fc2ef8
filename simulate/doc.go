// Package simulate writes a synthetic trial with known truth as the files
// real users bring: the protocol, the referral workbook from Kind en Gezin,
// and (as the other capabilities land) survey workbooks, case-manager logs
// and register extracts. The same seed gives the same bytes.
package simulate
