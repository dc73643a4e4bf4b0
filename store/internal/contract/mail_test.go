package contract

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch"
)

func TestLastError(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"421 try later", "421 try later"},
		{"a\x00b\xffc", "a\uFFFDb\uFFFDc"},
		{strings.Repeat("a", MaxLastError), strings.Repeat("a", MaxLastError)},
		{strings.Repeat("a", MaxLastError+1), strings.Repeat("a", MaxLastError)},
		// 4-byte characters: 1000 = 4*250, so 250 fit exactly; shifted by
		// one byte, only 249 do.
		{strings.Repeat("𝄞", 300), strings.Repeat("𝄞", 250)},
		{"a" + strings.Repeat("𝄞", 300), "a" + strings.Repeat("𝄞", 249)},
		// Sanitizing can lengthen the text (an invalid byte becomes three).
		{strings.Repeat("a\xff", 400), strings.Repeat("a\uFFFD", 250)},
	} {
		got := LastError(tc.in)
		if got != tc.want {
			t.Errorf("LastError(%.20q... %d bytes) = %d bytes, want %d", tc.in, len(tc.in), len(got), len(tc.want))
		}
		if len(got) > MaxLastError || !utf8.ValidString(got) {
			t.Errorf("LastError(%.20q...) = %d bytes, valid %v", tc.in, len(got), utf8.ValidString(got))
		}
	}
}

func TestMailMessage(t *testing.T) {
	now := func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 1500, time.UTC) }
	sent := now()
	got, err := MailMessage(latch.MailMessage{
		ID: "{0190B8A2-7C1E-7D3A-9F00-000000000001}", To: "a@example.com", Template: latch.MailRecovery,
		Data: []byte{}, Attempts: 3, SentAt: &sent, FailedAt: &sent, LastError: "x",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := latch.MailMessage{
		ID: "0190b8a2-7c1e-7d3a-9f00-000000000001", To: "a@example.com", Template: latch.MailRecovery,
		CreatedAt: Time(now()), NextAttemptAt: Time(now()),
	}
	if got.ID != want.ID || got.Data != nil || !got.CreatedAt.Equal(want.CreatedAt) || !got.NextAttemptAt.Equal(want.NextAttemptAt) ||
		got.Attempts != 0 || got.SentAt != nil || got.FailedAt != nil || got.LastError != "" {
		t.Errorf("MailMessage = %+v, want %+v", got, want)
	}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := MailPtr(&latch.MailMessage{To: "a@example.com", Template: latch.MailRecovery}, created, now)
	if err != nil || !p.CreatedAt.Equal(created) || !p.NextAttemptAt.Equal(created) {
		t.Errorf("MailPtr with the change's time = %+v, %v", p, err)
	}
	if p, err := MailPtr(nil, created, now); p != nil || err != nil {
		t.Errorf("MailPtr(nil) = %+v, %v", p, err)
	}
	for _, m := range []latch.MailMessage{
		{Template: "t"}, {To: "a"}, {ID: "x", To: "a", Template: "t"}, {To: "a\x00", Template: "t"}, {To: "a", Template: "\xff"},
	} {
		if _, err := MailMessage(m, now); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("MailMessage(%+v): %v, want Invalid", m, err)
		}
	}
}

func TestLease(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, err := Lease(now, time.Minute); err != nil || !got.Equal(now.Add(time.Minute)) {
		t.Errorf("Lease = %v, %v", got, err)
	}
	for _, d := range []time.Duration{0, -1} {
		if _, err := Lease(now, d); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("Lease(%v): %v, want Invalid", d, err)
		}
	}
}
