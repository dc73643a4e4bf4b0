package testenv

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy of the tests' own, put between Latch and a server
// (PostgreSQL) to bring the faults of a bad day: the server gone (Cut) or
// there but silent (Hang). It is real TCP on loopback, not a mock: the
// driver sees what it would see in production.
type Proxy struct {
	// Addr is where clients connect (127.0.0.1:port); it stays the same
	// across Cut and Pass.
	Addr   string
	target string
	t      testing.TB

	mu     sync.Mutex
	cond   *sync.Cond // signalled when mode changes
	mode   proxyMode
	ln     net.Listener
	conns  map[net.Conn]struct{} // both ends of every proxied or held connection
	closed bool
	wg     sync.WaitGroup
}

type proxyMode int

const (
	proxyPass proxyMode = iota // forward both ways
	proxyCut                   // refuse new connections, reset open ones
	proxyHang                  // accept and hold; forward nothing, answer nothing
)

// StartProxy starts a proxy to target (host:port) that forwards until told
// otherwise. It is closed when t ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, t: t, ln: ln, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept(ln)
	t.Cleanup(p.close)
	return p
}

// ProxiedPostgresURL is PostgresURL with the connection going through a
// Proxy, which it returns too.
func ProxiedPostgresURL(t testing.TB) (string, *Proxy) {
	t.Helper()
	raw := PostgresURL(t)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("a proxied Postgres needs a postgres:// URL in LATCH_TEST_POSTGRES_URL")
	}
	host := u.Host
	if !strings.Contains(host, ":") {
		host += ":5432"
	}
	p := StartProxy(t, host)
	u.Host = p.Addr
	return u.String(), p
}

// Pass forwards traffic again: new connections reach the server. A
// connection held by Hang is closed rather than resumed: its client gave
// up on it long ago, and a late answer would belong to no request.
func (p *Proxy) Pass() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == proxyCut && !p.closed {
		// Listen again on the same port, so the clients' URL still holds.
		var ln net.Listener
		var err error
		for range 50 {
			if ln, err = net.Listen("tcp", p.Addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			p.t.Errorf("proxy: listen again on %s: %v", p.Addr, err)
			return
		}
		p.ln = ln
		p.wg.Add(1)
		go p.accept(ln)
	}
	if p.mode == proxyHang {
		p.closeConnsLocked()
	}
	p.mode = proxyPass
	p.cond.Broadcast()
}

// Cut makes the server unreachable: new connections are refused (nothing
// listens on Addr) and open ones are closed, as when the database host
// goes down or a firewall resets them.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != proxyCut {
		_ = p.ln.Close()
	}
	p.mode = proxyCut
	p.closeConnsLocked()
	p.cond.Broadcast()
}

// Hang makes the server silent: connections, old and new, stay open but
// nothing is forwarded either way, as with a database stuck on a full disk
// or a network that drops packets.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = proxyHang
	p.cond.Broadcast()
}

func (p *Proxy) closeConnsLocked() {
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not an orderly close
		}
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	_ = p.ln.Close()
	p.closeConnsLocked()
	p.mode = proxyCut
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by Cut or close
		}
		p.mu.Lock()
		if p.closed || p.mode == proxyCut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		hang := p.mode == proxyHang
		p.mu.Unlock()
		if hang {
			continue // held open, never answered; closed by Pass, Cut or close
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward connects c to the target and copies both ways while the mode
// allows it.
func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	if p.closed || p.mode == proxyCut {
		p.mu.Unlock()
		_ = up.Close()
		p.drop(c)
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	p.wg.Add(2)
	go p.copy(up, c)
	go p.copy(c, up)
}

// copy moves bytes from src to dst; a chunk read while the proxy hangs is
// held until it passes again (and then dropped with the connection).
func (p *Proxy) copy(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.mode == proxyHang {
				p.cond.Wait()
			}
			_, live := p.conns[src]
			p.mu.Unlock()
			if !live {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				p.drop(src)
				p.drop(dst)
				return
			}
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.drop(dst)
				p.drop(src)
			}
			return
		}
	}
}

func (p *Proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}
