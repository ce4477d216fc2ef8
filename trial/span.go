package trial

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rct-trials/rct/internal/lazyre"
)

// Span is a signed length of calendar time written as a number and a unit:
// "14d" (days), "2w" (weeks), "6m" (calendar months), "1y" (years), "-12m".
type Span string

var spanRE = lazyre.New(`^([+-]?\d{1,4})([dwmy])$`)

// Parse returns the count and unit of s.
func (s Span) Parse() (n int, unit byte, err error) {
	g := spanRE().FindStringSubmatch(string(s))
	if g == nil {
		return 0, 0, fmt.Errorf("%q is not a span of time: write a whole number and d, w, m or y, as in 14d, 6m, -12m", string(s))
	}
	n, _ = strconv.Atoi(g[1])
	return n, g[2][0], nil
}

// AddTo returns date moved by s. Months and years keep the day of the month
// and clamp it to the month's last day (31 January + 1m = 28 or 29
// February), as lubridate's %m+% does.
func (s Span) AddTo(date time.Time) time.Time {
	n, unit, err := s.Parse()
	if err != nil {
		return date
	}
	switch unit {
	case 'd':
		return date.AddDate(0, 0, n)
	case 'w':
		return date.AddDate(0, 0, 7*n)
	case 'y':
		n *= 12
	}
	y, m, d := date.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, date.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), date.Hour(), date.Minute(), date.Second(), date.Nanosecond(), date.Location())
}

// Days returns an approximate length in days (months as 30.4375 days), for
// ordering spans.
func (s Span) Days() float64 {
	n, unit, _ := s.Parse()
	switch unit {
	case 'w':
		return 7 * float64(n)
	case 'm':
		return 30.4375 * float64(n)
	case 'y':
		return 365.25 * float64(n)
	}
	return float64(n)
}
