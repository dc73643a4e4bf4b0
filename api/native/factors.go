package native

// Second factors (issue 16): the factor step of a sign-in (the mfa grant
// of /v1/token), passwordless passkey sign-in, step-up, and the signed-in
// user's factors.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// registerFactors adds the second-factor routes to mux.
func (s *Surface) registerFactors(mux httpx.Mux) {
	mux.Handle("POST /v1/mfa/passkey/options", s.problems.Handle(s.mfaPasskeyOptions))
	mux.Handle("POST /v1/passkeys/sign-in/options", s.problems.Handle(s.passkeySignInOptions))
	mux.Handle("POST /v1/passkeys/sign-in/finish", s.problems.Handle(s.passkeySignInFinish))
	mux.Handle("GET /v1/me/factors", s.problems.Handle(s.myFactors))
	mux.Handle("POST /v1/me/factors/totp", s.problems.Handle(s.enrolTOTP))
	mux.Handle("POST /v1/me/factors/{id}/confirm", s.problems.Handle(s.confirmTOTP))
	mux.Handle("DELETE /v1/me/factors/{id}", s.problems.Handle(s.removeFactor))
	mux.Handle("POST /v1/me/passkeys/options", s.problems.Handle(s.passkeyRegistrationOptions))
	mux.Handle("POST /v1/me/passkeys", s.problems.Handle(s.registerPasskey))
	mux.Handle("POST /v1/me/recovery-codes", s.problems.Handle(s.regenerateRecoveryCodes))
	mux.Handle("POST /v1/me/step-up", s.problems.Handle(s.stepUp))
	mux.Handle("POST /v1/me/step-up/passkey/options", s.problems.Handle(s.stepUpPasskeyOptions))
}

// writeMFARequired answers a sign-in that needs its second factor (or,
// for mfa_enrolment_required, to enrol one first): no session, but the mfa
// token whose only use is the mfa grant (and, for enrolment, the factor
// enrolment routes as Bearer), and the factors it can be completed with.
func (s *Surface) writeMFARequired(w http.ResponseWriter, r *http.Request, pair account.TokenPair, cause error) error {
	c, err := s.accounts.MFAChallengeOf(r.Context(), pair.AccessToken)
	if err != nil {
		return err
	}
	code, desc := latch.CodeMFARequired, "the sign-in needs its second factor: POST /v1/token with grant_type=mfa and mfa_token"
	if latch.IsCode(cause, latch.CodeMFAEnrolmentRequired) {
		code, desc = latch.CodeMFAEnrolmentRequired, "a second factor must be enrolled first (POST /v1/me/factors/totp with mfa_token as Bearer), then POST /v1/token with grant_type=mfa"
	}
	factors := c.Factors
	if factors == nil {
		factors = []string{}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusForbidden, "application/json", struct {
		Error       string   `json:"error"`
		Description string   `json:"error_description"`
		MFAToken    string   `json:"mfa_token"`
		ExpiresIn   int64    `json:"expires_in"`
		Factors     []string `json:"factors"`
	}{code, desc, pair.AccessToken, int64(pair.ExpiresIn.Seconds()), factors})
	return nil
}

// isMFAStep reports whether a sign-in's error is the factor step.
func isMFAStep(err error) bool {
	return latch.IsCode(err, latch.CodeMFARequired) || latch.IsCode(err, latch.CodeMFAEnrolmentRequired)
}

// proofOf is the FactorProof of the mfa grant's and step-up's parameters.
func proofOf(totp, recovery, ceremony string, credential []byte) account.FactorProof {
	return account.FactorProof{TOTPCode: totp, RecoveryCode: recovery, PasskeyCeremony: ceremony, PasskeyResponse: credential}
}

// mfaGrant is grant_type=mfa of /v1/token: the mfa token and one proof.
func (s *Surface) mfaGrant(w http.ResponseWriter, r *http.Request, req tokenRequest) (account.TokenPair, error) {
	if req.MFAToken == "" {
		return account.TokenPair{}, oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "mfa_token is required")
	}
	cred, err := credentialJSON(req.PasskeyCredential)
	if err != nil {
		return account.TokenPair{}, err
	}
	return s.accounts.CompleteMFA(httpx.Context(r), req.MFAToken, proofOf(req.TOTPCode, req.RecoveryCode, req.PasskeyCeremony, cred), httpx.ClientIP(r))
}

// credentialJSON is a passkey credential given as a JSON object or as a
// string holding one (a form can only send the latter).
func credentialJSON(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, latch.FieldError("passkey_credential", latch.CodeInvalidRequest, "passkey_credential must be the credential's JSON")
		}
		raw = json.RawMessage(s)
	}
	if !json.Valid(raw) || raw[0] != '{' {
		return nil, latch.FieldError("passkey_credential", latch.CodeInvalidRequest, "passkey_credential must be the credential's JSON object")
	}
	return raw, nil
}

// passkeyChallenge is the first half of a WebAuthn ceremony: the options
// for navigator.credentials.create or .get, and the ceremony to send back.
type passkeyChallenge struct {
	Options  json.RawMessage `json:"options"`
	Ceremony string          `json:"ceremony"`
}

func writeChallenge(w http.ResponseWriter, c account.PasskeyChallenge) {
	opts := json.RawMessage(c.Options)
	if !json.Valid(opts) {
		opts = json.RawMessage("{}")
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, "application/json", passkeyChallenge{Options: opts, Ceremony: c.Ceremony})
}

// mfaPasskeyOptions is POST /v1/mfa/passkey/options: a passkey assertion
// for the factor step of an mfa token.
func (s *Surface) mfaPasskeyOptions(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.MFAToken == "" {
		return latch.FieldError("mfa_token", latch.CodeRequired, "mfa_token is required")
	}
	c, err := s.accounts.BeginMFAPasskey(httpx.Context(r), req.MFAToken)
	if err != nil {
		return err
	}
	writeChallenge(w, c)
	return nil
}

// passkeySignInOptions is POST /v1/passkeys/sign-in/options: a
// passwordless sign-in's discoverable assertion.
func (s *Surface) passkeySignInOptions(w http.ResponseWriter, r *http.Request) error {
	c, err := s.accounts.BeginPasskeySignIn(httpx.Context(r), httpx.ClientIP(r))
	if err != nil {
		return err
	}
	writeChallenge(w, c)
	return nil
}

type passkeyFinishRequest struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

func (req passkeyFinishRequest) check() ([]byte, error) {
	if req.Ceremony == "" {
		return nil, latch.FieldError("ceremony", latch.CodeRequired, "ceremony is required")
	}
	raw := bytes.TrimSpace(req.Credential)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, latch.FieldError("credential", latch.CodeRequired, "credential (the PublicKeyCredential's JSON object) is required")
	}
	return raw, nil
}

// passkeySignInFinish is POST /v1/passkeys/sign-in/finish: a passwordless
// sign-in with a passkey, answered as the token endpoint answers.
func (s *Surface) passkeySignInFinish(w http.ResponseWriter, r *http.Request) error {
	if err := s.crossSite.Check(r); err != nil {
		return err
	}
	var req passkeyFinishRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	cred, err := req.check()
	if err != nil {
		return err
	}
	pair, err := s.accounts.FinishPasskeySignIn(httpx.Context(r), req.Ceremony, cred, httpx.ClientIP(r))
	if err != nil {
		return err
	}
	writeTokens(w, pair)
	return nil
}

// writeTokens is the token endpoint's success answer.
func writeTokens(w http.ResponseWriter, pair account.TokenPair) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, "application/json", tokenResponse{
		AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: int64(pair.ExpiresIn.Seconds()),
		RefreshToken: pair.RefreshToken, Scope: strings.Join(pair.Scopes, " "),
	})
}

// Factor is the native representation of a second factor (its secret is
// never shown again after enrolment).
type Factor struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Confirmed   bool       `json:"confirmed"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

func factorOf(f latch.Factor) Factor {
	return Factor{ID: f.ID, Kind: string(f.Kind), Name: f.Name, Confirmed: f.ConfirmedAt != nil, CreatedAt: f.CreatedAt,
		ConfirmedAt: f.ConfirmedAt, LastUsedAt: f.LastUsedAt}
}

// myFactors is GET /v1/me/factors.
func (s *Surface) myFactors(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	fs, err := s.accounts.MyFactors(r.Context(), p)
	if err != nil {
		return err
	}
	out := struct {
		Factors []Factor `json:"factors"`
	}{Factors: []Factor{}}
	for _, f := range fs {
		out.Factors = append(out.Factors, factorOf(f))
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

// enrolTOTP is POST /v1/me/factors/totp: a new, unconfirmed TOTP factor;
// its secret, otpauth URL and QR code are shown this once.
func (s *Surface) enrolTOTP(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	e, err := s.accounts.EnrolTOTP(httpx.Context(r), p, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, "application/json", struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
		URL      string `json:"otpauth_url"`
		QRPNG    []byte `json:"qr_png"` // base64 (standard, padded) of a PNG
	}{e.FactorID, e.Secret, e.URL, e.QRPNG})
	return nil
}

// confirmTOTP is POST /v1/me/factors/{id}/confirm: the first code makes
// the factor usable.
func (s *Surface) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return latch.FieldError("code", latch.CodeRequired, "code is required")
	}
	if err := s.accounts.ConfirmTOTP(httpx.Context(r), p, r.PathValue("id"), req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeFactor is DELETE /v1/me/factors/{id} (a fresh factor check first).
func (s *Surface) removeFactor(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if err := s.accounts.RemoveFactor(httpx.Context(r), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// passkeyRegistrationOptions is POST /v1/me/passkeys/options.
func (s *Surface) passkeyRegistrationOptions(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	c, err := s.accounts.BeginPasskeyRegistration(httpx.Context(r), p)
	if err != nil {
		return err
	}
	writeChallenge(w, c)
	return nil
}

// registerPasskey is POST /v1/me/passkeys: the credential the browser
// created, stored as a confirmed factor.
func (s *Surface) registerPasskey(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var req passkeyFinishRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	cred, err := req.check()
	if err != nil {
		return err
	}
	f, err := s.accounts.FinishPasskeyRegistration(httpx.Context(r), p, req.Name, req.Ceremony, cred)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, "application/json", factorOf(f))
	return nil
}

// regenerateRecoveryCodes is POST /v1/me/recovery-codes: ten new codes,
// shown this once; the old ones stop working.
func (s *Surface) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	codes, err := s.accounts.RegenerateRecoveryCodes(httpx.Context(r), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, "application/json", struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}{codes})
	return nil
}

type proofRequest struct {
	TOTPCode          string          `json:"totp_code"`
	RecoveryCode      string          `json:"recovery_code"`
	PasskeyCeremony   string          `json:"passkey_ceremony"`
	PasskeyCredential json.RawMessage `json:"passkey_credential"`
}

// stepUp is POST /v1/me/step-up: a factor checked again; the answer is a
// new token pair that replaces the caller's.
func (s *Surface) stepUp(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var req proofRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	cred, err := credentialJSON(req.PasskeyCredential)
	if err != nil {
		return err
	}
	pair, err := s.accounts.StepUp(httpx.Context(r), p, proofOf(req.TOTPCode, req.RecoveryCode, req.PasskeyCeremony, cred))
	if err != nil {
		return err
	}
	writeTokens(w, pair)
	return nil
}

// stepUpPasskeyOptions is POST /v1/me/step-up/passkey/options.
func (s *Surface) stepUpPasskeyOptions(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	c, err := s.accounts.BeginStepUpPasskey(httpx.Context(r), p)
	if err != nil {
		return err
	}
	writeChallenge(w, c)
	return nil
}
