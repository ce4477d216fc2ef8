package trial

import (
	"testing"
	"time"
)

// TestToday: a trial's calendar day is Brussels's, summer time included:
// 22:30 UTC on a summer evening is already the next day there, and on a
// winter evening it is not.
func TestToday(t *testing.T) {
	for _, c := range []struct{ now, want string }{
		{"2017-07-14T21:59:00Z", "2017-07-14"},
		{"2017-07-14T22:30:00Z", "2017-07-15"},
		{"2017-01-14T22:30:00Z", "2017-01-14"},
		{"2017-01-14T23:30:00Z", "2017-01-15"},
		{"2017-03-26T22:30:00Z", "2017-03-27"}, // the night summer time began
		{"2017-10-29T22:30:00Z", "2017-10-29"}, // the night it ended
	} {
		now, err := time.Parse(time.RFC3339, c.now)
		if err != nil {
			t.Fatal(err)
		}
		a := Actor{Now: func() time.Time { return now }}
		if got := a.Today().Format("2006-01-02"); got != c.want {
			t.Errorf("%s UTC: day %s in Brussels, want %s", c.now, got, c.want)
		}
	}
}
