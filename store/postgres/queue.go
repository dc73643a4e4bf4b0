package postgres

import (
	"cmp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file holds what the two leased queues, the jobs and the mail
// outbox, share: a claim leases a batch of due rows (one more attempt, due
// again when the lease ends), so that the work of a worker that stops is
// handed out again once its lease has run out.

// claimed is a row a claim leased, with the time it was due.
type claimed[T any] struct {
	row T
	due time.Time
}

// collectClaimed reads what a claim's UPDATE ... RETURNING returned: each
// row's columns (dest gives their Scan destinations, as jobDest does),
// then the time it was due. RETURNING cannot order its rows, so they are
// put back in the order they were claimed, by due time then id.
func collectClaimed[T any](rows pgx.Rows, err error, dest func(*T) ([]any, func()), id func(*T) string) ([]T, error) {
	batch, err := collect(rows, err, func(row pgx.Row) (claimed[T], error) {
		var c claimed[T]
		d, finish := dest(&c.row)
		if err := row.Scan(append(d, &c.due)...); err != nil {
			return claimed[T]{}, err
		}
		finish()
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(batch, func(a, b claimed[T]) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(id(&a.row), id(&b.row)))
	})
	var out []T
	for _, c := range batch {
		out = append(out, c.row)
	}
	return out, nil
}
