package trial

import "context"

// LinkReport summarises register links: per register, tier and status, and
// the share of randomized families with a linked person per group code (a
// difference between groups would bias the analysis).
type LinkReport struct {
	Links []LinkCount `json:"links"`
	Rates []LinkRate  `json:"rates"`
}

// LinkCount counts links and their events.
type LinkCount struct {
	Register string `json:"register"`
	Tier     int    `json:"tier"`
	Status   string `json:"status"`
	Links    int    `json:"links"`
	Events   int    `json:"events"`
}

// LinkRate is a register's link rate in one group.
type LinkRate struct {
	Register string  `json:"register"`
	Group    string  `json:"group"`
	Families int     `json:"families"`
	Linked   int     `json:"linked"`
	Rate     float64 `json:"rate"`
}

// LinkReport returns the report.
func (db *DB) LinkReport(ctx context.Context) (*LinkReport, error) {
	rep := &LinkReport{Links: []LinkCount{}, Rates: []LinkRate{}}
	rows, err := db.sql.QueryContext(ctx, `SELECT l.register, l.tier, l.status, count(DISTINCT l.id), count(e.id)
		FROM register_links l LEFT JOIN register_events e ON e.link = l.id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c LinkCount
		if err := rows.Scan(&c.Register, &c.Tier, &c.Status, &c.Links, &c.Events); err != nil {
			rows.Close()
			return nil, err
		}
		rep.Links = append(rep.Links, c)
	}
	rows.Close()
	rows, err = db.sql.QueryContext(ctx, `SELECT r.register, a.group_code, count(*),
		sum(EXISTS (SELECT 1 FROM register_links l JOIN persons p ON p.id = l.person WHERE p.family = a.family AND l.register = r.register AND l.status = 'linked'))
		FROM allocations a CROSS JOIN (SELECT DISTINCT register FROM register_links) r GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r LinkRate
		if err := rows.Scan(&r.Register, &r.Group, &r.Families, &r.Linked); err != nil {
			return nil, err
		}
		r.Rate = float64(r.Linked) / float64(r.Families)
		rep.Rates = append(rep.Rates, r)
	}
	return rep, rows.Err()
}
