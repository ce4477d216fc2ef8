package simulate

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/trial"
)

// extractFields are the register fields in the order the extract has them.
var extractFields = []string{"national_number", "first_name", "last_name", "birth_date", "postcode", "event", "start", "end", "amount", "category"}

// identity is how a register knows a person.
type identity struct {
	number, first, last, postcode string
	birth                         time.Time
}

// registerIdentity is a trial person as the register has them: the
// national number missing (MissingNumber) or mistyped (MistypedNumber: one
// digit off, so the check digits fail), the name spelled another way
// (NameVariant: without accents, "Van den" written together or apart), day
// and month of birth swapped (SwappedBirth).
func registerIdentity(cfg Config, m ReferralRow, rng *rand.Rand) identity {
	id := identity{number: digits(m.Number), first: m.FirstName, last: m.LastName, postcode: m.Postcode, birth: m.BirthDate}
	switch u := rng.Float64(); {
	case u < cfg.MissingNumber:
		id.number = ""
	case u < cfg.MissingNumber+cfg.MistypedNumber && id.number != "":
		i := rng.IntN(9)
		b := []byte(id.number)
		b[i] = '0' + (b[i]-'0'+1+byte(rng.IntN(8)))%10
		id.number = string(b)
	}
	if rng.Float64() < cfg.NameVariant {
		id.first, id.last = variant(id.first), variant(id.last)
		if id.first == m.FirstName && id.last == m.LastName {
			id.last = strings.ToUpper(id.last)
		}
	}
	if rng.Float64() < cfg.SwappedBirth && id.birth.Day() <= 12 && id.birth.Day() != int(id.birth.Month()) {
		id.birth = time.Date(id.birth.Year(), time.Month(id.birth.Day()), int(id.birth.Month()), 0, 0, 0, 0, time.UTC)
	}
	return id
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

var unaccent = strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ï", "i", "ö", "o", "ü", "u", "Ö", "O", "ç", "c")

// variant spells a name another way, as a clerk might.
func variant(s string) string {
	switch {
	case strings.HasPrefix(s, "Van den "):
		return "Vanden" + strings.ToLower(s[8:9]) + s[9:]
	case strings.HasPrefix(s, "Vanden"):
		return "Van den " + strings.ToUpper(s[6:7]) + s[7:]
	case strings.HasPrefix(s, "De "):
		return "De" + strings.ToLower(s[3:4]) + s[4:]
	case strings.HasPrefix(s, "D'"):
		return "D" + strings.ToLower(s[2:3]) + s[3:]
	}
	return unaccent.Replace(s)
}

// extract writes a register's extract as a semicolon-separated CSV with
// the protocol's column names: the events of the randomized families'
// adults (as the register knows them) and of many unrelated persons
// (Unrelated per trial person, some sharing a name with one), up to the
// fieldwork's day.
func (w writer) extract(cfg Config, reg trial.Register, hh []*Household, fams []family, today time.Time) error {
	var head []string
	var fields []string
	for _, f := range extractFields {
		if c, ok := reg.Columns[f]; ok {
			head, fields = append(head, c), append(fields, f)
		}
	}
	return w.file(reg.ID+".csv", func(path string) error {
		fh, err := os.Create(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		bw := bufio.NewWriterSize(fh, 1<<20)
		bw.WriteString(strings.Join(head, ";") + "\n")
		line := func(id identity, code string, start, end time.Time, amount float64) {
			if start.After(today) {
				return
			}
			if !end.IsZero() && end.After(today) {
				end = time.Time{} // still running on the day of the extract
			}
			for i, f := range fields {
				if i > 0 {
					bw.WriteByte(';')
				}
				switch f {
				case "national_number":
					bw.WriteString(id.number)
				case "first_name":
					bw.WriteString(id.first)
				case "last_name":
					bw.WriteString(id.last)
				case "birth_date":
					bw.WriteString(id.birth.Format("02/01/2006"))
				case "postcode":
					bw.WriteString(id.postcode)
				case "event":
					bw.WriteString(code)
				case "start":
					bw.WriteString(start.Format("02/01/2006"))
				case "end":
					if !end.IsZero() {
						bw.WriteString(end.Format("02/01/2006"))
					}
				case "amount":
					if amount > 0 {
						bw.WriteString(strconv.FormatFloat(amount, 'f', 2, 64))
					}
				}
			}
			bw.WriteByte('\n')
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, 0x0e00_0000+uint64(len(reg.ID))*131+uint64(reg.ID[0])))
		persons := 0
		var pool []ReferralRow
		for _, f := range fams {
			ids := map[int]identity{}
			for i, m := range f.h.Members {
				if m.Role != "child" {
					ids[i] = registerIdentity(cfg, m, rng)
					persons++
					pool = append(pool, m)
				}
			}
			var ev []Event
			if reg.ID == "vdab" {
				ev = f.h.VDABEvents(f.date, f.z)
			} else {
				ev = f.h.OCMWEvents(f.date, f.z)
			}
			for _, e := range ev {
				if _, mapped := reg.Events[e.Code]; !mapped {
					continue
				}
				if id, ok := ids[e.Person]; ok {
					line(id, e.Code, e.Start, e.End, e.Amount)
				}
			}
		}
		codes := make([]string, 0, len(reg.Events))
		for c := range reg.Events {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		start := cfg.Start().AddDate(-1, 0, 0)
		span := int(today.Sub(start).Hours()/24) + 1
		for i := 0; i < persons*cfg.Unrelated; i++ {
			id := identity{postcode: postcodes[rng.IntN(len(postcodes))]}
			if len(pool) > 0 && rng.Float64() < 0.05 { // a namesake of a trial person
				m := pool[rng.IntN(len(pool))]
				id.first, id.last = m.FirstName, m.LastName
			} else {
				role := []string{"mother", "partner"}[rng.IntN(2)]
				id.first, id.last = firstNames[role][rng.IntN(len(firstNames[role]))], lastNames[rng.IntN(len(lastNames))]
			}
			id.birth = time.Date(1950+rng.IntN(50), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
			if rng.Float64() >= cfg.MissingNumber {
				id.number = numberFor(id.birth, 500+rng.IntN(498))
			}
			for k := 1 + rng.IntN(3); k > 0; k-- {
				s := start.AddDate(0, 0, rng.IntN(span))
				var e time.Time
				if rng.Float64() < 0.5 {
					e = s.AddDate(0, 1+rng.IntN(12), 0)
				}
				line(id, codes[rng.IntN(len(codes))], s, e, float64(50+rng.IntN(900)))
			}
			// Real extracts carry codes the trial does not need: an
			// administrative record now and then (no draw: the rest of
			// the extract stays as it was).
			if code := otherCodes[reg.ID][i/7%2]; i%7 == 0 && code != "" && reg.Events[code] == "" {
				line(id, code, start.AddDate(0, 0, i%span), time.Time{}, 0)
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return fh.Close()
	})
}

// otherCodes are event codes of each register that the example protocol
// does not map: an extract's rows of them are counted and left out.
var otherCodes = map[string][2]string{"ocmw": {"ADM", "MED"}, "vdab": {"INF", "REG"}}

// numberFor is a valid national number for a birth date and serial.
func numberFor(born time.Time, serial int) string {
	d := fmt.Sprintf("%02d%02d%02d%03d", born.Year()%100, born.Month(), born.Day(), serial)
	n, _ := strconv.ParseInt(d, 10, 64)
	if born.Year() >= 2000 {
		n += 2_000_000_000
	}
	return fmt.Sprintf("%s%02d", d, 97-n%97)
}
