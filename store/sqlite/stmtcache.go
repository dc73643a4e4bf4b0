package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	msqlite "modernc.org/sqlite"
)

// openCached opens dsn like sql.Open("sqlite", dsn), except that each
// connection keeps the statements it has prepared, by their SQL text, and
// runs them again rather than parsing the same SQL on every call.
//
// database/sql prepares and finalizes a statement per Exec and Query when
// the driver runs SQL directly, and modernc's driver does: preparing was
// 12 % of a login profile's samples, about 8 µs per statement
// (BenchmarkPointQuery). Preparing
// every statement by hand (sql.Stmt) would put a prepare call beside
// every query of the store; caching below database/sql leaves the store's
// code as it is. SQLite re-prepares a statement by itself when the schema
// changes under it (sqlite3_prepare_v2), so a cached one never runs
// against a stale schema.
func openCached(dsn string) *sql.DB {
	return sql.OpenDB(cachingConnector{dsn: dsn})
}

// maxCachedStatements bounds each connection's cache. The store's SQL is a
// fixed set of a few hundred texts, but some are built (a filter, an IN
// list), so a bound keeps a rare text from growing the cache for ever:
// past it, a statement is prepared and finalized per call, as without the
// cache.
const maxCachedStatements = 256

type cachingConnector struct{ dsn string }

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&msqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	full, ok := conn.(fullConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite: the driver's connection lacks an interface the statement cache needs")
	}
	return &cachingConn{fullConn: full, stmts: map[string]*cachedStmt{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return &msqlite.Driver{} }

// fullConn is what database/sql uses of modernc's connection.
type fullConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one connection with its prepared statements. database/sql
// uses a connection from one goroutine at a time (a Rows' Close included),
// so the cache needs no lock.
type cachingConn struct {
	fullConn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	// inUse: a Rows of this statement is open. A second query of the same
	// text meanwhile (inside one transaction) gets a statement of its own.
	inUse bool
}

// cached returns the connection's statement for query, preparing it the
// first time, or nil when it cannot be cached (the cache is full, the
// statement is in use, or preparing it failed: the direct call then
// reports the error as it always did).
func (c *cachingConn) cached(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.inUse {
			return nil
		}
		return s
	}
	if len(c.stmts) >= maxCachedStatements {
		return nil
	}
	st, err := c.fullConn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	full, ok := st.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		_ = st.Close()
		return nil
	}
	s := &cachedStmt{stmt: full}
	c.stmts[query] = s
	return s
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s := c.cached(ctx, query)
	if s == nil {
		return c.fullConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.cached(ctx, query)
	if s == nil {
		return c.fullConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.inUse = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

// Close finalizes the connection's statements, then closes it.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		_ = s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.fullConn.Close()
}

// cachedRows gives its statement back when closed (modernc resets the
// statement then, rather than finalizing it).
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.inUse = false
	return err
}
