package testenv

import (
	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/oidc"
)

// EveryKind is every latch.Kind.
func EveryKind() []latch.Kind {
	return []latch.Kind{
		latch.KindInternal, latch.KindInvalid, latch.KindUnauthenticated, latch.KindForbidden,
		latch.KindNotFound, latch.KindConflict, latch.KindTooMany, latch.KindUnavailable,
	}
}

// EveryCode is every stable code that a use case, a provider or the shared
// HTTP decoding can return to a surface. TestEveryCodeIsListed keeps it
// complete: a new exported Code constant anywhere outside a surface fails
// it until it is listed here, and so reaches every surface's mapping test.
func EveryCode() []string {
	return []string{
		latch.CodeInvalidRequest, latch.CodeRequired, latch.CodeInvalidEmail, latch.CodePasswordMismatch,
		latch.CodeCurrentPasswordNeeded, latch.CodeCurrentPasswordWrong, latch.CodePolicyLength,
		latch.CodePolicyCommon, latch.CodePolicyEmail, latch.CodePolicyLower, latch.CodePolicyUpper,
		latch.CodePolicyDigit, latch.CodePolicySpecial, latch.CodePolicySpecialInvalid, latch.CodePolicyWeak,
		latch.CodePolicyHistory, latch.CodePolicyInvisible, latch.CodeInvalidCredentials, latch.CodeInvalidToken,
		latch.CodeRefreshTokenReused, latch.CodeAuthorizationCodeReused, latch.CodeInsufficientScope, latch.CodeNotUserToken,
		latch.CodeAccountInactive, latch.CodeEmailTaken, latch.CodeIdentityTaken, latch.CodeAlreadyExists,
		latch.CodeConcurrentUpdate, latch.CodeOverloaded, latch.CodeRateLimited, latch.CodeLastSignInMethod,
		latch.CodeNotFound, latch.CodeUnsupportedGrantType, latch.CodeUnsupportedContentType,
		latch.CodeInvalidClient, latch.CodeNotClientToken, latch.CodeOtherTenant, latch.CodeAdminTarget,
		latch.CodePasswordChangeRequired, latch.CodeInvalidHash, latch.CodeNameTaken,
		latch.CodeMissingLinkedIdentity, latch.CodePasswordAlreadySet, latch.CodeMailDisabled,
		latch.CodeInvalidLink, latch.CodeDatabaseUnavailable, latch.CodeCanceled, latch.CodeInternal,
		latch.CodeMFARequired, latch.CodeStepUpRequired, latch.CodeMFAEnrolmentRequired,
		latch.CodeFactorStepUsed, latch.CodeFactorConfirmed, account.CodeInvalidMFACode,
		latch.CodePasskeyCounter, account.CodeInvalidPasskey, account.CodeNoPasskey,
		account.CodeFactorNotAllowed,
		account.CodeRedirectNotAllowed, account.CodeLimiterUnavailable, account.CodeProviderEmailMissing,
		account.CodeEmailNotLinkable, account.CodeProviderEmailUnverified, account.CodeProviderWrongTenant,
		oidc.CodeProviderUnavailable, oidc.CodeProviderRefused,
		httpx.CodeBodyTooLarge, httpx.CodeInvalidJSON, httpx.CodeInvalidUTF8, httpx.CodeWrongType,
		httpx.CodeEmptyBody, httpx.CodeMissingToken, httpx.CodeCrossSite,
	}
}

// EveryError is one error for each kind crossed with each code (the kind a
// code usually comes with and every other: a surface must answer even a
// pairing no use case makes today in its own shape, never with a panic),
// each on a field and with a detail, as a policy failure has.
func EveryError() []*latch.Error {
	var out []*latch.Error
	for _, code := range EveryCode() {
		for _, kind := range EveryKind() {
			d := latch.Error{Kind: kind, Code: code, Field: "password", Message: "Words of the service for " + code + "."}
			e := d
			e.Details = []latch.Error{d}
			out = append(out, &e)
		}
	}
	return out
}
