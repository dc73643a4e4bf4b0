package sqlite

import (
	"context"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// DataKeys implements latch.Store.
func (s *Store) DataKeys(ctx context.Context) ([]latch.DataKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.reader.QueryContext(ctx, `SELECT id, key, created_at FROM data_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, func(row scanner) (latch.DataKey, error) {
		var k latch.DataKey
		var created int64
		if err := row.Scan(&k.ID, &k.Key, &created); err != nil {
			return latch.DataKey{}, err
		}
		k.CreatedAt = fromMicros(created)
		return k, nil
	})
}

// AddDataKey implements latch.Store.
func (s *Store) AddDataKey(ctx context.Context, k latch.DataKey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := contract.DataKey(k); err != nil {
		return err
	}
	res, err := s.writer.ExecContext(ctx, `INSERT INTO data_keys (id, key, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Key, micros(contract.Or(k.CreatedAt, s.now)))
	return fail(oneRow(res, err, contract.AlreadyExists("data key")))
}
