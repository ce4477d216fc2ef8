package dataerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestMessage(t *testing.T) {
	e := &Error{File: "referrals.xlsx", Sheet: "referrals", Row: 14, Col: 6, Column: "birth_date", Err: errors.New(`impossible date "31/02/2020"`)}
	want := `referrals.xlsx: sheet "referrals" row 14 column F (birth_date): impossible date "31/02/2020"`
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e, want)
	}
	y := &Error{File: "trial.yaml", Line: 7, Err: errors.New("unknown key")}
	if y.Error() != "trial.yaml: line 7: unknown key" {
		t.Errorf("got %s", y)
	}
	if !Is(fmt.Errorf("wrapped: %w", List{e})) || Is(errors.New("x")) {
		t.Error("Is")
	}
	if (List{}).Err() != nil {
		t.Error("empty list is an error")
	}
}

func TestColumnName(t *testing.T) {
	for c, want := range map[int]string{1: "A", 6: "F", 26: "Z", 27: "AA", 52: "AZ", 53: "BA", 703: "AAA"} {
		if got := ColumnName(c); got != want {
			t.Errorf("ColumnName(%d) = %s, want %s", c, got, want)
		}
	}
}
