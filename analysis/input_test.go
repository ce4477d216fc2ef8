package analysis

import (
	"errors"
	"math"
	"testing"
)

// TestBadInputReturnsErrors: user data never panics gonum.
func TestBadInputReturnsErrors(t *testing.T) {
	y := []float64{1, 2, 3, 4, 5, 6}
	z := []float64{0, 1, 0, 1, 0, 1}
	x := Column{Name: "x", Values: []float64{1, 2, 3, 4, 5, 6}}
	X, names, _ := Matrix(true, Column{Name: "z", Values: z}, x)
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"length mismatch", func() error { _, err := OLS(y[:5], X, names, OLSOptions{}); return err }, ErrLength},
		{"NaN outcome", func() error {
			_, err := OLS([]float64{1, math.NaN(), 3, 4, 5, 6}, X, names, OLSOptions{})
			return err
		}, ErrNaN},
		{"collinear", func() error {
			C, n, _ := Matrix(true, x, Column{Name: "2x", Values: []float64{2, 4, 6, 8, 10, 12}})
			_, err := OLS(y, C, n, OLSOptions{})
			return err
		}, ErrCollinear},
		{"constant column with intercept", func() error {
			C, n, _ := Matrix(true, Column{Name: "one", Values: []float64{1, 1, 1, 1, 1, 1}})
			_, err := OLS(y, C, n, OLSOptions{})
			return err
		}, ErrCollinear},
		{"too few rows", func() error {
			C, n, _ := Matrix(true, Column{Name: "z", Values: z[:2]}, Column{Name: "x", Values: x.Values[:2]})
			_, err := OLS(y[:2], C, n, OLSOptions{})
			return err
		}, ErrTooFew},
		{"one cluster", func() error {
			_, err := OLS(y, X, names, OLSOptions{SE: CR2, Clusters: []string{"a", "a", "a", "a", "a", "a"}})
			return err
		}, ErrTooFew},
		{"singleton arm in a block", func() error {
			_, err := DifferenceInMeans(y, z, []string{"a", "a", "a", "a", "b", "b"}, 0.05)
			return err
		}, ErrTooFew},
		{"empty arm", func() error { _, err := DifferenceInMeans(y, make([]float64, 6), nil, 0.05); return err }, ErrTooFew},
		{"all missing", func() error { _, _, err := Matrix(true); return err }, ErrTooFew},
	}
	for _, c := range cases {
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic %v", c.name, p)
				}
			}()
			return c.run()
		}()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := OLS(y, X, names, OLSOptions{SE: "HC9"}); err == nil {
		t.Error("unknown SE type accepted")
	}
	if _, err := OLS(y, X, names, OLSOptions{SE: CR0}); err == nil {
		t.Error("CR0 without clusters accepted")
	}
	if _, err := DifferenceInMeans(y, []float64{0, 1, 2, 1, 0, 1}, nil, 0.05); err == nil {
		t.Error("treatment 2 accepted")
	}
	if _, err := PAdjust([]float64{0.5, 1.2}, Holm); err == nil {
		t.Error("p > 1 accepted")
	}
}
