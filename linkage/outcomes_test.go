package linkage

import (
	"testing"
	"time"
)

func day(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }

func TestAggregateWindows(t *testing.T) {
	// Randomized 2017-03-01; window (0, 6m] = (2017-03-01, 2017-09-01].
	w := Window{From: day("2017-03-01"), To: day("2017-09-01")}
	oneOff := func(d string, amount float64) Spell {
		return Spell{Start: day(d), End: day(d), Amount: amount, HasAmount: true}
	}
	spell := func(a, b string) Spell { return Spell{Start: day(a), End: day(b)} }
	open := func(a string) Spell { return Spell{Start: day(a), Open: true} }
	cases := []struct {
		name   string
		spells []Spell
		how    string
		want   float64
	}{
		{"aid on the randomization day is before the window", []Spell{oneOff("2017-03-01", 100)}, "any", 0},
		{"aid the next day counts", []Spell{oneOff("2017-03-02", 100)}, "any", 1},
		{"aid on the window's last day counts", []Spell{oneOff("2017-09-01", 100)}, "any", 1},
		{"aid after the window", []Spell{oneOff("2017-09-02", 100)}, "any", 0},
		{"count", []Spell{oneOff("2017-04-01", 1), oneOff("2017-05-01", 1), oneOff("2016-05-01", 1)}, "count", 2},
		{"sum of amounts starting in the window", []Spell{oneOff("2017-04-01", 120.5), oneOff("2017-05-01", 79.5), oneOff("2017-10-01", 1000)}, "sum", 200},
		{"spell from before overlaps", []Spell{spell("2017-01-01", "2017-03-15")}, "any", 1},
		{"days of a spell clipped to the window", []Spell{spell("2017-01-01", "2017-03-15")}, "days", 14},
		{"overlapping spells are not counted twice", []Spell{spell("2017-04-01", "2017-04-30"), spell("2017-04-15", "2017-05-10")}, "days", 40},
		{"an open spell runs to the window's end", []Spell{open("2017-08-01")}, "days", 32},
		{"an open spell from before covers the window", []Spell{open("2016-01-01")}, "days", 184},
		{"a one-off event covers its day", []Spell{oneOff("2017-06-01", 0)}, "days", 1},
	}
	for _, c := range cases {
		if got := Aggregate(c.spells, w, c.how); got != c.want {
			t.Errorf("%s: %s = %v, want %v", c.name, c.how, got, c.want)
		}
	}
}
