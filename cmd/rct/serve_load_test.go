package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// loadResult is what a load run measured.
type loadResult struct {
	uploads, randomizes []time.Duration
	wall                time.Duration
}

func p95(d []time.Duration) time.Duration {
	s := append([]time.Duration{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)*95+99)/100-1]
}

// loadRun is the load test: on loopback, 50 interviewers upload at once
// their part of the m6 interviews (a workbook each, cut from the corrected
// one, two or three families apiece) while 8 randomizers randomize a
// family each. Every upload must be imported (no lost upload: the m6
// count rises by the families sent), every family randomized once (no
// double allocation: one allocation and one chain entry each), and the
// chain verify with the key afterwards.
func loadRun(t testing.TB) loadResult {
	r, held := servedTrial(t, 112, 21, 2)
	var slots []struct {
		StudyCode string `json:"study_code"`
	}
	if err := json.Unmarshal([]byte(r.must("survey", "due", "--wave", "m6", "--within", "400d", "--json")), &slots); err != nil {
		t.Fatal(err)
	}
	const interviewers, randomizers = 50, 8
	parts := make([][]string, interviewers)
	for i, s := range slots {
		parts[i%interviewers] = append(parts[i%interviewers], s.StudyCode)
	}
	files := make([]string, interviewers)
	for i, codes := range parts {
		name := fmt.Sprintf("iv%02d", i)
		r.in = name + " password 123\n"
		r.must("user", "add", name, "--role", "interviewer", "--password-stdin")
		r.must("user", "assign", name, "--families", strings.Join(codes, ","))
		files[i] = cutWorkbook(t, r.path("m6-interviews-corrected.xlsx"), r.path(name+".xlsx"), codes)
	}
	for i := 0; i < randomizers; i++ {
		r.in = fmt.Sprintf("rnd%d password 123\n", i)
		r.must("user", "add", fmt.Sprintf("rnd%d", i), "--role", "randomizer", "--password-stdin")
	}
	r.must("enroll", held[0])
	r.must("enroll", held[1])
	pending := pendingCodes(t, r)
	if len(pending) < randomizers {
		t.Fatalf("%d families to randomize, want %d", len(pending), randomizers)
	}
	ts, _ := startServer(t, r, true)
	before := completed(t, r, "m6")
	var mu sync.Mutex
	var res loadResult
	interviewed := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < interviewers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := newClient(t, ts.URL)
			if code := c.login(fmt.Sprintf("iv%02d", i), fmt.Sprintf("iv%02d password 123", i)); code != 200 {
				t.Errorf("interviewer %d: login %d", i, code)
				return
			}
			t0 := time.Now()
			code, b := c.upload("/api/survey/import?wave=m6", files[i], nil)
			d := time.Since(t0)
			var out struct {
				Rows        int `json:"rows"`
				NotAnswered int `json:"rows_not_answered"`
			}
			json.Unmarshal(b, &out)
			if code != 200 || out.Rows+out.NotAnswered != len(parts[i]) {
				t.Errorf("interviewer %d: %d, %d rows and %d not interviewed of %d\n%.300s", i, code, out.Rows, out.NotAnswered, len(parts[i]), b)
			}
			mu.Lock()
			res.uploads = append(res.uploads, d)
			interviewed += out.Rows
			mu.Unlock()
		}(i)
	}
	for i := 0; i < randomizers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := newClient(t, ts.URL)
			if code := c.login(fmt.Sprintf("rnd%d", i), fmt.Sprintf("rnd%d password 123", i)); code != 200 {
				t.Errorf("randomizer %d: login %d", i, code)
				return
			}
			t0 := time.Now()
			code, b := c.postForm("/randomize", url.Values{"family": {pending[i]}})
			d := time.Since(t0)
			if code != 200 || !strings.Contains(string(b), "<td>"+pending[i]+"</td>") {
				t.Errorf("randomizer %d (%s): %d\n%.300s", i, pending[i], code, b)
			}
			mu.Lock()
			res.randomizes = append(res.randomizes, d)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	res.wall = time.Since(start)
	if after := completed(t, r, "m6"); after != before+interviewed || interviewed < len(slots)*3/4 {
		t.Errorf("m6 interviews: %d before, %d after, %d imported of %d families sent: uploads lost", before, after, interviewed, len(slots))
	}
	var allocs []struct {
		StudyCode string `json:"study_code"`
		Slot      int    `json:"slot"`
	}
	if err := json.Unmarshal([]byte(r.must("allocation", "export", "--json")), &allocs); err != nil {
		t.Fatal(err)
	}
	slotsSeen, famSeen := map[int]bool{}, map[string]int{}
	for _, a := range allocs {
		if slotsSeen[a.Slot] {
			t.Errorf("slot %d given twice", a.Slot)
		}
		slotsSeen[a.Slot] = true
		famSeen[a.StudyCode]++
	}
	for _, code := range pending[:randomizers] {
		if famSeen[code] != 1 {
			t.Errorf("%s allocated %d times", code, famSeen[code])
		}
	}
	r.must("audit", "verify", "--key", r.path("trial.key"))
	return res
}

// cutWorkbook writes a copy of a filled wave workbook with only the rows
// of the given families.
func cutWorkbook(t testing.TB, src, dst string, codes []string) string {
	f, err := excelize.OpenFile(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keep := map[string]bool{}
	for _, c := range codes {
		keep[c] = true
	}
	rows, err := f.GetRows("m6")
	if err != nil {
		t.Fatal(err)
	}
	for i := len(rows); i >= 2; i-- {
		if len(rows[i-1]) == 0 || !keep[rows[i-1][0]] {
			if err := f.RemoveRow("m6", i); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.SaveAs(dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pendingCodes lists the enrolled families not yet randomized.
func pendingCodes(t testing.TB, r *inProcess) []string {
	out := r.must("allocation", "export", "--json")
	var allocs []struct {
		StudyCode string `json:"study_code"`
	}
	json.Unmarshal([]byte(out), &allocs)
	done := map[string]bool{}
	for _, a := range allocs {
		done[a.StudyCode] = true
	}
	st := r.must("status", "--json")
	var s struct{ Enrolled int }
	json.Unmarshal([]byte(st), &s)
	var pending []string
	for i := 1; i <= s.Enrolled; i++ {
		code := fmt.Sprintf("K-%04d", i)
		if !done[code] {
			pending = append(pending, code)
		}
	}
	return pending
}

// completed is a wave's completed interviews.
func completed(t testing.TB, r *inProcess, wave string) int {
	var ws []struct {
		Wave   string         `json:"wave"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(r.must("survey", "status", "--json")), &ws); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Wave == wave {
			return w.Counts["completed"]
		}
	}
	return 0
}

// TestServeLoad: the load run holds (no lost upload, no double allocation,
// the chain verifies); the figures are BenchmarkServeLoad's.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	res := loadRun(t)
	t.Logf("50 uploads and 8 randomizations at once: p95 upload %v, p95 randomize %v, all done in %v", p95(res.uploads), p95(res.randomizes), res.wall)
}

// BenchmarkServeLoad measures the load run on loopback (BENCHMARKS.md):
// p95 latency of the uploads and of the randomizations, and the time until
// all are done. The trial is built anew for each run, untimed.
func BenchmarkServeLoad(b *testing.B) {
	var up, rnd, wall []time.Duration
	for i := 0; i < b.N; i++ {
		res := loadRun(b)
		up, rnd, wall = append(up, p95(res.uploads)), append(rnd, p95(res.randomizes)), append(wall, res.wall)
	}
	ms := func(d []time.Duration) float64 {
		var s time.Duration
		for _, x := range d {
			s += x
		}
		return float64(s.Milliseconds()) / float64(len(d))
	}
	b.ReportMetric(ms(up), "p95-upload-ms")
	b.ReportMetric(ms(rnd), "p95-randomize-ms")
	b.ReportMetric(ms(wall), "all-done-ms")
	b.ReportMetric(0, "ns/op")
}
