package latchkey

import (
	"fmt"
	"time"
)

// ErrorCode is the stable code of an Error (the same codes as the TypeScript and Python clients).
type ErrorCode string

// Error codes.
const (
	// CodeInvalidTokenResponse: the token endpoint answered 2xx with a body that is not a token response.
	CodeInvalidTokenResponse ErrorCode = "ERR_INVALID_TOKEN_RESPONSE"
	// CodeTokenEndpoint: the token endpoint refused the grant (4xx); see OAuthError.
	CodeTokenEndpoint ErrorCode = "ERR_TOKEN_ENDPOINT"
	// CodeTokenEndpointUnavailable: network error, 5xx, 408, 409 or 429 after retries; the session is kept.
	CodeTokenEndpointUnavailable ErrorCode = "ERR_TOKEN_ENDPOINT_UNAVAILABLE"
	// CodeReauthRequired: the session ended for good; the store was cleared; sign in again.
	CodeReauthRequired ErrorCode = "ERR_REAUTH_REQUIRED"
	// CodeNotLoggedIn: no session in the store and no provider to start one.
	CodeNotLoggedIn ErrorCode = "ERR_NOT_LOGGED_IN"
	// CodeStoreLockTimeout: another process held the file store's lock for longer than the timeout.
	CodeStoreLockTimeout ErrorCode = "ERR_STORE_LOCK_TIMEOUT"
	// CodeHTTP: an API call answered an error status.
	CodeHTTP ErrorCode = "ERR_HTTP"
	// CodeRealtimeReply: the gateway answered a command with an error (see ReplyCode).
	CodeRealtimeReply ErrorCode = "ERR_REALTIME_REPLY"
	// CodeRealtimeConnection: the realtime connection is closed or could not be made.
	CodeRealtimeConnection ErrorCode = "ERR_REALTIME_CONNECTION"
)

// Error is every error of this package. Compare with errors.Is against the Err… values, which match
// on Code, or read the fields with errors.As.
type Error struct {
	Code    ErrorCode
	Message string
	// Status is the HTTP status, when there was one.
	Status int
	// OAuthError is the OAuth or GoTrue error code of a refused grant or API call (invalid_grant, …).
	OAuthError string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// ReplyCode and Temporary describe a gateway error reply (CodeRealtimeReply).
	ReplyCode int
	Temporary bool
	// Body is the raw body of an API error answer.
	Body []byte
	Err  error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same Code (the Err… values below).
func (e *Error) Is(target error) bool {
	other, ok := target.(*Error)
	return ok && other.Code == e.Code
}

// Values to test errors with errors.Is.
var (
	ErrInvalidTokenResponse     = &Error{Code: CodeInvalidTokenResponse}
	ErrTokenEndpoint            = &Error{Code: CodeTokenEndpoint}
	ErrTokenEndpointUnavailable = &Error{Code: CodeTokenEndpointUnavailable}
	ErrReauthRequired           = &Error{Code: CodeReauthRequired}
	ErrNotLoggedIn              = &Error{Code: CodeNotLoggedIn}
	ErrStoreLockTimeout         = &Error{Code: CodeStoreLockTimeout}
	ErrHTTP                     = &Error{Code: CodeHTTP}
	ErrRealtimeReply            = &Error{Code: CodeRealtimeReply}
	ErrRealtimeConnection       = &Error{Code: CodeRealtimeConnection}
)

func newError(code ErrorCode, format string, args ...interface{}) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
