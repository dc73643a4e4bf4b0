package account

// Mail the use cases send: messages sealed into the outbox, the links
// they carry, and the switch that turns mail off.

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// mailSealPurpose seals the values of outbox messages.
const mailSealPurpose = "mail"

// OpenMailData opens the sealed values of an outbox message (for the
// delivery worker).
func OpenMailData(keys *token.Keys, sealed []byte) (map[string]string, error) {
	plain, err := keys.Open(mailSealPurpose, string(sealed))
	if err != nil {
		return nil, err
	}
	var data map[string]string
	if err := json.Unmarshal(plain, &data); err != nil {
		return nil, err
	}
	return data, nil
}

// newMail builds an outbox message; data is sealed, since a link in it is
// a credential.
//
// Mail goes only to the canonical form of to. An account stored before
// that form existed whose address has none (latch.LegacyEmailKey) gets no
// mail: its address is not one Latch can tell apart from a look-alike.
func (s *Service) newMail(to, template string, data map[string]string) (latch.MailMessage, error) {
	to, err := latch.CanonicalEmail(to)
	if err != nil {
		return latch.MailMessage{}, latch.FieldError("email", latch.CodeInvalidEmail, "This account's email address cannot receive mail.")
	}
	id, err := newID()
	if err != nil {
		return latch.MailMessage{}, latch.Internal(err)
	}
	plain, err := json.Marshal(data)
	if err != nil {
		return latch.MailMessage{}, latch.Internal(err)
	}
	sealed, err := s.keys.Seal(mailSealPurpose, plain)
	if err != nil {
		return latch.MailMessage{}, latch.Internal(err)
	}
	now := s.now()
	return latch.MailMessage{ID: id, To: to, Template: template, Data: []byte(sealed), CreatedAt: now, NextAttemptAt: now}, nil
}

func (s *Service) url(path string, query url.Values) string {
	u := strings.TrimRight(s.cfg.PublicURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

func errMailDisabled() error {
	return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeMailDisabled, Message: "email delivery is not configured"}
}

// humanDuration says d for an email: "24 hours", "1 hour", "90 minutes".
func humanDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}
