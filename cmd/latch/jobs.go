package main

import (
	"context"

	"github.com/latchid/latch/account"
)

// startJobs does the work of recorded recovery and sign-up requests until
// ctx ends, and returns a channel closed when it has stopped. Every
// replica runs it (ClaimJobs's lease keeps them apart). With LATCH_MAIL=off
// nothing is started: those requests are refused, and jobs recorded before
// wait in the store until mail is on again.
func (a *app) startJobs(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if a.cfg.MailOff {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		a.accounts.RunJobs(ctx, account.DefaultJobInterval)
	}()
	return done
}
