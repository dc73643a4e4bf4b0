package main

import "testing"

// TestPagesProductNameFromConfig: pages and mail share one product name:
// LATCH_PRODUCT_NAME, else LATCH_MAIL_FROM's display name, else Latch; an
// unset LATCH_MAIL_FROM sends as that name.
func TestPagesProductNameFromConfig(t *testing.T) {
	for _, c := range []struct {
		env           map[string]string
		product, from string
	}{
		{nil, "Latch", `"Latch" <no-reply@127.0.0.1>`},
		{map[string]string{"LATCH_MAIL_FROM": "Acme <no-reply@acme.example>"}, "Acme", "Acme <no-reply@acme.example>"},
		{map[string]string{"LATCH_MAIL_FROM": "no-reply@acme.example"}, "Latch", "no-reply@acme.example"},
		{map[string]string{"LATCH_MAIL_FROM": "Acme <no-reply@acme.example>", "LATCH_PRODUCT_NAME": "Acme ID"}, "Acme ID", "Acme <no-reply@acme.example>"},
		{map[string]string{"LATCH_PRODUCT_NAME": "Acme ID", "LATCH_PUBLIC_URL": "https://id.acme.example"}, "Acme ID", `"Acme ID" <no-reply@id.acme.example>`},
	} {
		cfg, err := loadConfig(func(k string) string { return c.env[k] })
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if cfg.ProductName != c.product || cfg.MailFrom != c.from {
			t.Errorf("%v: product %q, sender %q; want %q, %q", c.env, cfg.ProductName, cfg.MailFrom, c.product, c.from)
		}
	}
}
