package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// DataKeys implements latch.Store.
func (s *Store) DataKeys(ctx context.Context) ([]latch.DataKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, key, created_at FROM data_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fail(err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (latch.DataKey, error) {
		var k latch.DataKey
		err := row.Scan(&k.ID, &k.Key, &k.CreatedAt)
		k.CreatedAt = k.CreatedAt.UTC()
		return k, err
	})
	return keys, fail(err)
}

// AddDataKey implements latch.Store.
func (s *Store) AddDataKey(ctx context.Context, k latch.DataKey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := contract.DataKey(k); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO data_keys (id, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Key, contract.Or(k.CreatedAt, s.now))
	return fail(oneRow(tag, err, contract.AlreadyExists("data key")))
}
