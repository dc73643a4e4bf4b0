package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// loopResult is one request of a closed-loop client.
type loopResult struct {
	code    int
	latency time.Duration
	err     string
}

// loopStep makes one request for a client and says, for a refusal that
// carries Retry-After, how long the client then waits before its next one.
type loopStep func(ctx context.Context, c *http.Client) (loopResult, time.Duration)

// closedLoop runs clients goroutines for d, each making requests one after
// the other with step, and returns every result. Unlike vegeta's workers,
// a client here waits out a Retry-After it is given (as a well-behaved
// SDK does), with up to a tenth more at random so that the clients
// refused at one moment do not all come back at the same instant.
func closedLoop(ctx context.Context, clients int, d time.Duration, step func(i int) loopStep) ([]loopResult, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var all []loopResult
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			s := step(i)
			var mine []loopResult
			for ctx.Err() == nil {
				r, wait := s(ctx, c)
				if ctx.Err() != nil && r.err != "" {
					break // cut off by the end of the run, not a result
				}
				mine = append(mine, r)
				if wait > 0 {
					wait += time.Duration(rand.Int64N(int64(wait/10) + 1))
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start)
}

// do sends one request and reads its answer whole. It returns the status,
// the body and the Retry-After the answer asked for (0 if none).
func do(ctx context.Context, c *http.Client, req *http.Request) (loopResult, []byte, time.Duration) {
	start := time.Now()
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		// A request that got no answer at all (refused, reset): wait a
		// little, as a client would, rather than spin.
		return loopResult{latency: time.Since(start), err: err.Error()}, nil, 100 * time.Millisecond
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	r := loopResult{code: res.StatusCode, latency: time.Since(start)}
	if err != nil {
		r.err = err.Error()
	}
	var wait time.Duration
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 && (res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests) {
		wait = time.Duration(s) * time.Second
	}
	return r, body, wait
}

// loginStep posts the same login again and again, waiting out Retry-After.
func loginStep(base, email, pw string) loopStep {
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	return func(ctx context.Context, c *http.Client) (loopResult, time.Duration) {
		req, _ := http.NewRequest(http.MethodPost, base+"/users/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		r, _, wait := do(ctx, c, req)
		return r, wait
	}
}

// refreshStep signs the client in once (not counted) and then refreshes
// its session over and over at /v1/token, each time with the refresh
// token the previous answer gave. A refusal of the sign-in is reported
// as the result, and the client signs in again next time.
func refreshStep(base, email, pw string) loopStep {
	var refresh string
	return func(ctx context.Context, c *http.Client) (loopResult, time.Duration) {
		if refresh == "" {
			form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}
			r, body, wait := postForm(ctx, c, base+"/v1/token", form)
			if r.code != http.StatusOK {
				if r.err == "" {
					r.err = "sign-in before refreshing: " + strconv.Itoa(r.code)
				}
				return r, wait
			}
			refresh = refreshTokenOf(body)
			if refresh == "" {
				return loopResult{err: "sign-in answered no refresh_token"}, 0
			}
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
		r, body, wait := postForm(ctx, c, base+"/v1/token", form)
		if r.code == http.StatusOK {
			refresh = refreshTokenOf(body)
		} else {
			refresh = ""
		}
		return r, wait
	}
}

func postForm(ctx context.Context, c *http.Client, target string, form url.Values) (loopResult, []byte, time.Duration) {
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return do(ctx, c, req)
}

func refreshTokenOf(body []byte) string {
	var pair struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(body, &pair)
	return pair.RefreshToken
}

// trivialServerCommand serves one small JSON answer on every path, with
// the standard library alone: the baseline a real handler's rate is
// compared with (what HTTP, JSON and the load generator cost on this
// machine). Hidden: it is a measuring instrument, not a part of Latch.
func trivialServerCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "bench-trivial-server",
		Short:  "serve a trivial JSON handler (the baseline of latch bench trivial)",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	addr := cmd.Flags().String("addr", "127.0.0.1:18091", "loopback address to listen on")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		host, _, err := net.SplitHostPort(*addr)
		if err != nil || !(host == "localhost" || net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()) {
			return cliError{"bench-trivial-server: --addr must be a loopback host:port"}
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return cliError{"bench-trivial-server: " + err.Error()}
		}
		type answer struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(answer{ID: "0192f0c4-7a51-7d3e-9c1a-3f6b2a1d9e00", Email: "ada@example.com"})
		})}
		ctx, stop := signal.NotifyContext(inv.ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		fmt.Fprintln(inv.stdout, "serving on", ln.Addr())
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return cmd
}
