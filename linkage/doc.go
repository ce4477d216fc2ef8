// Package linkage links register extracts (OCMW, VDAB) to trial persons:
// exact matching on keyed pseudonyms of national numbers (package ident),
// Fellegi-Sunter matching on names and birth dates, and outcome windows.
//
// (Lands with the register-linkage issue; package ident is here already.)
package linkage
