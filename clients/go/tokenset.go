package latchkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// TokenSet is the tokens of one session with absolute expiries, anchored at the moment the token request
// was sent. A zero AccessExpiresAt means the server gave no lifetime. An empty RefreshToken means there
// is none; a RefreshToken with a zero RefreshExpiresAt has no known expiry.
type TokenSet struct {
	AccessToken      string
	TokenType        string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// AuthorizationHeader is the Authorization header value, e.g. "Bearer eyJ…".
func (t *TokenSet) AuthorizationHeader() string {
	kind := t.TokenType
	if kind == "" {
		kind = "Bearer"
	}
	return kind + " " + t.AccessToken
}

// AccessValid reports whether the access token can still be sent at now: true when its expiry is
// unknown, otherwise now < AccessExpiresAt - skew.
func (t *TokenSet) AccessValid(skew time.Duration, now time.Time) bool {
	return t.AccessExpiresAt.IsZero() || now.Before(t.AccessExpiresAt.Add(-skew))
}

// RefreshValid reports whether the refresh token can be spent: false without one, true when its expiry
// is unknown.
func (t *TokenSet) RefreshValid(skew time.Duration, now time.Time) bool {
	if t.RefreshToken == "" {
		return false
	}
	return t.RefreshExpiresAt.IsZero() || now.Before(t.RefreshExpiresAt.Add(-skew))
}

// storedTokenSet is the stored form shared with the TypeScript and Python clients (times in ms).
type storedTokenSet struct {
	AccessToken      string   `json:"access_token"`
	TokenType        string   `json:"token_type"`
	AccessExpiresAt  *float64 `json:"access_expires_at"`
	RefreshToken     *string  `json:"refresh_token"`
	RefreshExpiresAt *float64 `json:"refresh_expires_at"`
}

// MarshalJSON writes the stored form.
func (t TokenSet) MarshalJSON() ([]byte, error) {
	stored := storedTokenSet{AccessToken: t.AccessToken, TokenType: "Bearer", AccessExpiresAt: millis(t.AccessExpiresAt)}
	if t.RefreshToken != "" {
		refresh := t.RefreshToken
		stored.RefreshToken = &refresh
		stored.RefreshExpiresAt = millis(t.RefreshExpiresAt)
	}
	return json.Marshal(stored)
}

// UnmarshalJSON reads the stored form strictly.
func (t *TokenSet) UnmarshalJSON(data []byte) error {
	var stored storedTokenSet
	if err := json.Unmarshal(data, &stored); err != nil {
		return err
	}
	if stored.AccessToken == "" {
		return errors.New("access_token must be a non-empty string")
	}
	if stored.TokenType != "" && !strings.EqualFold(stored.TokenType, "bearer") {
		return fmt.Errorf("unsupported token_type %q", stored.TokenType)
	}
	*t = TokenSet{AccessToken: stored.AccessToken, TokenType: "Bearer", AccessExpiresAt: fromMillis(stored.AccessExpiresAt)}
	if stored.RefreshToken != nil {
		if *stored.RefreshToken == "" {
			return errors.New("refresh_token must be a non-empty string or null")
		}
		t.RefreshToken = *stored.RefreshToken
		t.RefreshExpiresAt = fromMillis(stored.RefreshExpiresAt)
	}
	return nil
}

func millis(at time.Time) *float64 {
	if at.IsZero() {
		return nil
	}
	value := math.Round(float64(at.UnixNano()) / 1e6)
	return &value
}

func fromMillis(value *float64) time.Time {
	if value == nil {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(*value)))
}
