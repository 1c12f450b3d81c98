package latchkey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Protocol is the wire format of a token endpoint.
type Protocol string

const (
	// ProtocolOAuth posts form-encoded grants (RFC 6749) to …/auth/v1/oauth/token.
	ProtocolOAuth Protocol = "oauth"
	// ProtocolGoTrue posts JSON to …/auth/v1/token?grant_type=… with an apikey header.
	ProtocolGoTrue Protocol = "gotrue"
)

// sessionEndedErrors are error codes meaning the grant can never succeed again.
var sessionEndedErrors = map[string]bool{
	"invalid_grant": true, "invalid_client": true, "unauthorized_client": true,
	"refresh_token_not_found": true, "refresh_token_already_used": true, "session_not_found": true,
	"session_expired": true, "user_banned": true, "user_not_found": true, "invalid_credentials": true,
}

// transientErrors say "later" whatever the status.
var transientErrors = map[string]bool{
	"temporarily_unavailable": true, "slow_down": true, "over_request_rate_limit": true,
	"conflict": true, "unexpected_failure": true,
}

func isTransientStatus(status int) bool {
	return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500
}

// GrantResult is a successful token response: the tokens and the whole body (GoTrue adds "user").
type GrantResult struct {
	Tokens *TokenSet
	Body   map[string]json.RawMessage
}

type tokenEndpoint struct {
	url      string
	protocol Protocol
	apiKey   string
}

func (e tokenEndpoint) request(grant Grant) (*http.Request, error) {
	var body []byte
	target := e.url
	contentType := "application/x-www-form-urlencoded"
	if e.protocol == ProtocolGoTrue {
		fields, err := gotrueBody(grant)
		if err != nil {
			return nil, err
		}
		body, _ = json.Marshal(fields)
		parsed, err := url.Parse(e.url)
		if err != nil {
			return nil, err
		}
		query := parsed.Query()
		query.Set("grant_type", grant["grant_type"])
		parsed.RawQuery = query.Encode()
		target = parsed.String()
		contentType = "application/json;charset=UTF-8"
	} else {
		form := url.Values{}
		for name, value := range grant {
			form.Set(name, value)
		}
		body = []byte(form.Encode())
	}
	request, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	request.Header.Set("Content-Type", contentType)
	request.Header.Set("Accept", "application/json")
	if e.protocol == ProtocolGoTrue {
		request.Header.Set("X-Supabase-Api-Version", "2024-01-01")
	}
	if e.apiKey != "" {
		request.Header.Set("apikey", e.apiKey)
	}
	return request, nil
}

func gotrueBody(grant Grant) (map[string]string, error) {
	switch grant["grant_type"] {
	case "password":
		if grant["totp"] != "" {
			return nil, fmt.Errorf("the GoTrue token endpoint takes no TOTP code; use the OAuth token endpoint")
		}
		key := "email"
		if isPhone(grant["username"]) {
			key = "phone"
		}
		return map[string]string{key: grant["username"], "password": grant["password"]}, nil
	case "refresh_token":
		return map[string]string{"refresh_token": grant["refresh_token"]}, nil
	}
	return nil, fmt.Errorf("the GoTrue token endpoint does not support grant_type %q", grant["grant_type"])
}

// describeFailure is "<prefix> <code>: <description>", leaving out what is empty.
func describeFailure(prefix, code, description string) string {
	if code != "" {
		prefix += " " + code
	}
	if description != "" {
		prefix += ": " + description
	}
	return prefix
}

// readErrorBody returns the error code and description of an error body in OAuth's or GoTrue's shape.
func readErrorBody(body []byte) (code, description string) {
	var fields map[string]interface{}
	if json.Unmarshal(body, &fields) != nil {
		return "", ""
	}
	text := func(names ...string) string {
		for _, name := range names {
			if value, ok := fields[name].(string); ok && value != "" {
				return value
			}
		}
		return ""
	}
	return text("error", "error_code", "code"), text("error_description", "message", "msg")
}

func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(value); err == nil && seconds >= 0 {
		return time.Duration(seconds) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return at.Sub(now).Round(time.Second)
	}
	return 0
}

// processTokenResponse turns a token endpoint answer into tokens, strictly.
func processTokenResponse(response *http.Response, requestedAt, now time.Time) (*GrantResult, error) {
	data, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
	if err != nil {
		return nil, &Error{Code: CodeTokenEndpointUnavailable, Message: "the token response body could not be read", Status: response.StatusCode, Err: err}
	}
	if response.StatusCode < 200 || response.StatusCode > 299 {
		code, description := readErrorBody(data)
		message := describeFailure(fmt.Sprintf("token endpoint answered %d", response.StatusCode), code, description)
		if isTransientStatus(response.StatusCode) || transientErrors[code] {
			return nil, &Error{Code: CodeTokenEndpointUnavailable, Message: message, Status: response.StatusCode, OAuthError: code, RetryAfter: parseRetryAfter(response.Header.Get("Retry-After"), now)}
		}
		if code == "" {
			code = "unknown_error"
		}
		return nil, &Error{Code: CodeTokenEndpoint, Message: message, Status: response.StatusCode, OAuthError: code}
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(data, &body) != nil || body == nil {
		return nil, newError(CodeInvalidTokenResponse, "invalid token response: the body is not a JSON object")
	}
	var access, tokenType string
	if json.Unmarshal(body["access_token"], &access) != nil || access == "" {
		return nil, newError(CodeInvalidTokenResponse, `invalid token response: "access_token" must be a non-empty string`)
	}
	if json.Unmarshal(body["token_type"], &tokenType) != nil || !strings.EqualFold(tokenType, "bearer") {
		return nil, newError(CodeInvalidTokenResponse, `invalid token response: "token_type" must be "bearer"`)
	}
	tokens := &TokenSet{AccessToken: access, TokenType: "Bearer"}
	if raw, ok := body["refresh_token"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &tokens.RefreshToken) != nil || tokens.RefreshToken == "" {
			return nil, newError(CodeInvalidTokenResponse, `invalid token response: "refresh_token" must be a non-empty string`)
		}
	}
	expiresIn, err := readSeconds(body, "expires_in")
	if err != nil {
		return nil, err
	}
	if expiresIn >= 0 {
		tokens.AccessExpiresAt = requestedAt.Add(time.Duration(expiresIn * float64(time.Second)))
	}
	refreshExpiresIn, err := readSeconds(body, "refresh_expires_in")
	if err != nil {
		return nil, err
	}
	if refreshExpiresIn > 0 && tokens.RefreshToken != "" {
		tokens.RefreshExpiresAt = requestedAt.Add(time.Duration(refreshExpiresIn * float64(time.Second)))
	}
	return &GrantResult{Tokens: tokens, Body: body}, nil
}

// readSeconds returns -1 when the field is absent or null.
func readSeconds(body map[string]json.RawMessage, name string) (float64, error) {
	raw, ok := body[name]
	if !ok || string(raw) == "null" {
		return -1, nil
	}
	var number float64
	if json.Unmarshal(raw, &number) != nil {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			number = math.NaN()
		} else if parsed, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err == nil {
			number = parsed
		} else {
			number = math.NaN()
		}
	}
	if math.IsNaN(number) || math.IsInf(number, 0) || number < 0 {
		return 0, newError(CodeInvalidTokenResponse, "invalid token response: %q must be a finite number >= 0", name)
	}
	return number, nil
}
