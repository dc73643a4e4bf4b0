package contract

import (
	"reflect"
	"testing"
	"time"

	"github.com/latchid/latch"
)

func TestLimit(t *testing.T) {
	for in, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 1: 1, 50: 50, MaxLimit: MaxLimit, MaxLimit + 1: MaxLimit} {
		if got := Limit(in); got != want {
			t.Errorf("Limit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestDetails(t *testing.T) {
	for _, in := range []map[string]string{nil, {}} {
		s, err := EncodeDetails(in)
		if err != nil || s != nil {
			t.Errorf("EncodeDetails(%#v) = %v, %v; want nil (NULL)", in, s, err)
		}
	}
	in := map[string]string{"a": `"\`, "": "x", "nul": "\x00"}
	s, err := EncodeDetails(in)
	if err != nil || s == nil {
		t.Fatal(s, err)
	}
	got, err := DecodeDetails(s)
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Errorf("DecodeDetails(EncodeDetails(%q)) = %q, %v", in, got, err)
	}
	for _, s := range []*string{nil, new(""), new("{}")} {
		if got, err := DecodeDetails(s); err != nil || got != nil {
			t.Errorf("DecodeDetails(%v) = %#v, %v; want nil", s, got, err)
		}
	}
	if _, err := DecodeDetails(new("[")); !latch.IsKind(err, latch.KindInternal) {
		t.Errorf("DecodeDetails of bad JSON: %v", err)
	}
}

func TestAudit(t *testing.T) {
	now := func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 1500, time.UTC) }
	in := latch.AuditEvent{ID: 7, TenantID: "{00000000-0000-0000-0000-00000000000A}", Action: "x", ActorID: "a\x00", IP: "\xff",
		Details: map[string]string{"k": "v\x00"}}
	got, err := Audit(in, now)
	if err != nil {
		t.Fatal(err)
	}
	want := latch.AuditEvent{TenantID: "00000000-0000-0000-0000-00000000000a", At: now().Truncate(time.Microsecond), Action: "x",
		ActorID: "a\uFFFD", IP: "\uFFFD", Details: map[string]string{"k": "v\uFFFD"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Audit = %+v, want %+v", got, want)
	}
	if in.Details["k"] != "v\x00" {
		t.Error("Audit changed the caller's details")
	}
	for _, bad := range []latch.AuditEvent{{}, {Action: "x", TenantID: "acme"}} {
		if _, err := Audit(bad, now); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("Audit(%+v) = %v, want Invalid", bad, err)
		}
	}
	if e, err := AuditPtr(nil, now); e != nil || err != nil {
		t.Errorf("AuditPtr(nil) = %v, %v", e, err)
	}
}

func TestText(t *testing.T) {
	for s, want := range map[string]bool{"": true, "abc": true, "ünï": true, "a\x00": false, "\xff": false} {
		if Text(s) != want {
			t.Errorf("Text(%q) = %v", s, !want)
		}
		if !Text(sanitize(s)) {
			t.Errorf("sanitize(%q) = %q, not Text", s, sanitize(s))
		}
	}
}
