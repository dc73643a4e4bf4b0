package testenv

import (
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisProxy is a TCP proxy of the test's own between Latch and the test
// Redis, which the test can cut (connections dropped and refused at once)
// or hang (connections accepted and held open, nothing ever answered), as
// a failed or frozen Redis would. The faults are real network behaviour,
// seen by the real Redis client; nothing is mocked.
type RedisProxy struct {
	// URL is a Redis URL that goes through the proxy (same database and
	// credentials as the test Redis).
	URL string

	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  redisProxyMode
	conns map[net.Conn]bool // every open connection, both sides
}

type redisProxyMode int

const (
	redisForward redisProxyMode = iota
	redisCut
	redisHang
)

// StartRedisProxy starts a proxy to the test Redis (LATCH_TEST_REDIS_URL);
// it is skipped, or fails under CI=true, as Redis does when Redis is
// unreachable. The proxy stops with the test.
func StartRedisProxy(t testing.TB) *RedisProxy {
	t.Helper()
	Redis(t) // skip, or fail under CI, without Redis
	raw := os.Getenv("LATCH_TEST_REDIS_URL")
	if raw == "" {
		raw = DefaultRedisURL
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("LATCH_TEST_REDIS_URL: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("LATCH_TEST_REDIS_URL: %v", err)
	}
	u.Host = ln.Addr().String()
	p := &RedisProxy{URL: u.String(), ln: ln, target: opts.Addr, conns: make(map[net.Conn]bool)}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Cut drops every connection and, until Restore, closes each new one as
// soon as it is accepted: Redis is down.
func (p *RedisProxy) Cut() { p.set(redisCut) }

// Hang holds every connection open and, until Restore, accepts new ones
// but never answers on any: Redis is frozen.
func (p *RedisProxy) Hang() { p.set(redisHang) }

// Restore forwards to Redis again. Connections held by Hang are closed,
// as a restarted Redis would have closed them.
func (p *RedisProxy) Restore() { p.set(redisForward) }

func (p *RedisProxy) set(mode redisProxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	for c, client := range p.conns {
		// Hanging keeps the client side open and cuts only the way to
		// Redis, so requests are read and never answered.
		if mode == redisHang && client {
			continue
		}
		c.Close()
		delete(p.conns, c)
	}
}

func (p *RedisProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *RedisProxy) handle(client net.Conn) {
	p.mu.Lock()
	mode := p.mode
	switch mode {
	case redisCut:
		p.mu.Unlock()
		client.Close()
		return
	case redisHang:
		p.conns[client] = true
		p.mu.Unlock()
		// Read and drop whatever comes, so the client's writes succeed
		// and only its reads wait.
		_, _ = io.Copy(io.Discard, client)
		return
	}
	p.conns[client] = true
	p.mu.Unlock()
	upstream, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(client)
		return
	}
	p.mu.Lock()
	if mode := p.mode; mode != redisForward {
		// Faulted while dialling: Cut closed the client side already,
		// Hang keeps it.
		p.mu.Unlock()
		upstream.Close()
		return
	}
	p.conns[upstream] = false
	p.mu.Unlock()
	go func() {
		_, _ = io.Copy(upstream, client)
		p.drop(upstream)
	}()
	_, _ = io.Copy(client, upstream)
	p.drop(upstream)
	// The client side stays open if the proxy hangs: Hang cut only the
	// way to Redis.
	p.mu.Lock()
	hanging := p.mode == redisHang
	p.mu.Unlock()
	if !hanging {
		p.drop(client)
	}
}

func (p *RedisProxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *RedisProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
