package latchkey

import "strings"

// Grant is the form fields of one grant, grant_type included.
type Grant map[string]string

// AuthProvider is the source of the first grant of a session (and of later ones when it holds
// long-lived credentials). Providers only supply grant fields; the TokenManager sends them.
type AuthProvider interface {
	// GrantFields returns the grant that starts a session.
	GrantFields() Grant
	// ClientID is sent with refresh grants when not empty.
	ClientID() string
	// CanReauthenticate reports whether GrantFields may be sent again once the session has ended.
	CanReauthenticate() bool
}

// PasswordAuth is the resource-owner password grant, with an optional TOTP code (OAuth endpoint only).
type PasswordAuth struct {
	Username string
	Password string
	TOTP     string
	Client   string
}

func (p PasswordAuth) GrantFields() Grant {
	grant := Grant{"grant_type": "password", "username": p.Username, "password": p.Password}
	if p.TOTP != "" {
		grant["totp"] = p.TOTP
	}
	if p.Client != "" {
		grant["client_id"] = p.Client
	}
	return grant
}
func (p PasswordAuth) ClientID() string        { return p.Client }
func (p PasswordAuth) CanReauthenticate() bool { return true }

// RefreshTokenAuth starts a session from an existing refresh token, which is spent on first use.
type RefreshTokenAuth struct {
	RefreshToken string
	Client       string
}

func (p RefreshTokenAuth) GrantFields() Grant      { return refreshGrant(p.RefreshToken, p.Client) }
func (p RefreshTokenAuth) ClientID() string        { return p.Client }
func (p RefreshTokenAuth) CanReauthenticate() bool { return false }

// ClientCredentialsAuth is the client credentials grant of a confidential client.
type ClientCredentialsAuth struct {
	Client string
	Secret string
	Scope  string
}

func (p ClientCredentialsAuth) GrantFields() Grant {
	grant := Grant{"grant_type": "client_credentials", "client_id": p.Client, "client_secret": p.Secret}
	if p.Scope != "" {
		grant["scope"] = p.Scope
	}
	return grant
}
func (p ClientCredentialsAuth) ClientID() string        { return p.Client }
func (p ClientCredentialsAuth) CanReauthenticate() bool { return true }

func refreshGrant(refreshToken, clientID string) Grant {
	grant := Grant{"grant_type": "refresh_token", "refresh_token": refreshToken}
	if clientID != "" {
		grant["client_id"] = clientID
	}
	return grant
}

func isPhone(username string) bool { return strings.HasPrefix(username, "+") }
