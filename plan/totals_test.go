package plan

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/rct-trials/rct/survey"
)

// totalsBefore is Totals as it was before it kept a family's sums
// together (a map written per answer): the reference the faster one is
// held to.
func totalsBefore(each func(fn func(code, period, variable, value string)), cb *survey.Codebook) *LogTotals {
	cl := &LogTotals{Totals: map[string]map[string]float64{}, Months: map[string]int{}}
	kinds := map[string]string{}
	for _, v := range cb.Form(survey.CaseLog) {
		if v.Kind == survey.Integer || v.Kind == survey.Decimal || v.Kind == survey.SelectOne {
			kinds[v.Name] = v.Kind
			cl.Totals[v.Name] = map[string]float64{}
		}
	}
	counted := map[string]string{}
	each(func(code, period, variable, s string) {
		kind, ok := kinds[variable]
		if !ok {
			return
		}
		if counted[code] != period {
			counted[code] = period
			cl.Months[code]++
		}
		x, err := strconv.ParseFloat(s, 64)
		if _, miss := cb.IsMissing(s); err != nil || miss {
			return
		}
		per := cl.Totals[variable]
		switch {
		case kind != survey.SelectOne:
			per[code] += x
		case x == 1:
			per[code] = 1
		}
	})
	return cl
}

// TestTotals: the log's sums per family are the reference's for answers
// of every kind (text, integers, decimals, yes/no, missing codes, text
// that is no number), months of a family in and out of order of months,
// families answering nothing counted.
func TestTotals(t *testing.T) {
	cb, err := survey.ParseCodebook("codebook.yaml", survey.ExampleCodebook(), []string{"m0", "m6", "m12"})
	if err != nil {
		t.Fatal(err)
	}
	vars := cb.Form(survey.CaseLog)
	values := []string{"0", "1", "2", "3.5", "-99", "-98", "abc", "", "1e3", "12"}
	rng := rand.New(rand.NewPCG(1, 2))
	type answer struct{ code, period, variable, value string }
	var stream []answer
	for m := range 14 {
		period := fmt.Sprintf("2017-%02d", m%12+1)
		if m >= 12 {
			period = fmt.Sprintf("2018-%02d", m-11)
		}
		for f := range 40 {
			if rng.IntN(4) == 0 {
				continue
			}
			code := fmt.Sprintf("K-%04d", f+1)
			for _, v := range vars {
				if rng.IntN(5) > 0 {
					stream = append(stream, answer{code, period, v.Name, values[rng.IntN(len(values))]})
				}
			}
		}
	}
	each := func(fn func(code, period, variable, value string)) {
		for _, a := range stream {
			fn(a.code, a.period, a.variable, a.value)
		}
	}
	got, want := totals(each, cb), totalsBefore(each, cb)
	if len(want.Months) < 30 || len(want.Totals) < 5 {
		t.Fatalf("the stream holds too little: %d families, %d variables", len(want.Months), len(want.Totals))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("totals\n%v\nwant\n%v", got, want)
	}
}
