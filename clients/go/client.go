package latchkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is a Latchkey deployment: the identity API (Auth) and authenticated requests.
type Client struct {
	// BaseURL without a trailing slash.
	BaseURL string
	// AnonKey, when set, is sent as the apikey header.
	AnonKey string
	HTTP    *http.Client
	Tokens  *TokenManager
	Auth    *AuthAPI
}

// ClientOption configures NewClient.
type ClientOption func(*clientOptions)

type clientOptions struct {
	anonKey string
	store   TokenStore
	skew    time.Duration
	http    *http.Client
}

// WithAnonKey sends key as the apikey header.
func WithAnonKey(key string) ClientOption { return func(o *clientOptions) { o.anonKey = key } }

// WithStore keeps the session in store (default in memory).
func WithStore(store TokenStore) ClientOption { return func(o *clientOptions) { o.store = store } }

// WithExpirySkew sets how long before expiry the access token is refreshed (default 30 s).
func WithExpirySkew(skew time.Duration) ClientOption { return func(o *clientOptions) { o.skew = skew } }

// WithHTTPClient uses client for every request.
func WithHTTPClient(client *http.Client) ClientOption {
	return func(o *clientOptions) { o.http = client }
}

// NewClient returns a client for the deployment at baseURL (http or https).
func NewClient(baseURL string, options ...ClientOption) (*Client, error) {
	parsed, err := url.Parse(baseURL)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return nil, fmt.Errorf("latchkey: base URL must be an http(s) URL, got %q", baseURL)
	}
	settings := clientOptions{http: &http.Client{Timeout: 30 * time.Second}}
	for _, option := range options {
		option(&settings)
	}
	client := &Client{BaseURL: strings.TrimRight(baseURL, "/"), AnonKey: settings.anonKey, HTTP: settings.http}
	client.Tokens, err = NewTokenManager(nil, TokenManagerOptions{
		TokenURL:   client.BaseURL + "/auth/v1/token",
		Protocol:   ProtocolGoTrue,
		APIKey:     settings.anonKey,
		HTTPClient: settings.http,
		Store:      settings.store,
		ExpirySkew: settings.skew,
	})
	if err != nil {
		return nil, err
	}
	client.Auth = &AuthAPI{client: client}
	return client, nil
}

// WSURL is the realtime gateway's address: ws(s)://…/connection/websocket.
func (c *Client) WSURL() string {
	return "ws" + strings.TrimPrefix(c.BaseURL, "http") + "/connection/websocket"
}

// Do sends a request to path with the session's bearer token. After a 401 it asks the token manager for
// a new token once (ForceRefresh with the rejected token, so a burst of 401s costs one refresh) and
// retries. body may be nil. The response is returned as it is.
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	tokens, err := c.Tokens.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	response, err := c.send(ctx, method, path, body, tokens)
	if err != nil || response.StatusCode != http.StatusUnauthorized {
		return response, err
	}
	_, _ = io.Copy(io.Discard, response.Body)
	response.Body.Close()
	if tokens, err = c.Tokens.ForceRefresh(ctx, tokens.AccessToken); err != nil {
		return nil, err
	}
	return c.send(ctx, method, path, body, tokens)
}

// DoJSON sends input (nil for none) as JSON and decodes the answer into output (nil to discard);
// an error status becomes an *Error with code CodeHTTP.
func (c *Client) DoJSON(ctx context.Context, method, path string, input, output interface{}) error {
	var body []byte
	if input != nil {
		var err error
		if body, err = json.Marshal(input); err != nil {
			return err
		}
	}
	response, err := c.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	return readJSON(response, output)
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, tokens *TokenSet) (*http.Response, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	request, err := http.NewRequestWithContext(ctx, method, c.BaseURL+"/"+strings.TrimLeft(path, "/"), reader)
	if err != nil {
		return nil, err
	}
	request.Header.Set("Accept", "application/json")
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	if c.AnonKey != "" {
		request.Header.Set("apikey", c.AnonKey)
	}
	if tokens != nil {
		request.Header.Set("Authorization", tokens.AuthorizationHeader())
	}
	return c.HTTP.Do(request)
}

func readJSON(response *http.Response, output interface{}) error {
	defer response.Body.Close()
	data, err := io.ReadAll(io.LimitReader(response.Body, 16<<20))
	if err != nil {
		return err
	}
	if response.StatusCode >= 400 {
		code, description := readErrorBody(data)
		return &Error{Code: CodeHTTP, Message: describeFailure(fmt.Sprintf("HTTP %d", response.StatusCode), code, description), Status: response.StatusCode, OAuthError: code, Body: data}
	}
	if output == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, output)
}

// User is a user as the identity service returns it.
type User struct {
	ID           string                 `json:"id"`
	Email        string                 `json:"email"`
	Phone        string                 `json:"phone"`
	Role         string                 `json:"role"`
	AppMetadata  map[string]interface{} `json:"app_metadata"`
	UserMetadata map[string]interface{} `json:"user_metadata"`
}

// Session is the answer to a sign-in.
type Session struct {
	User   *User
	Tokens *TokenSet
}

// LoginRequest signs in with e-mail (or an E.164 phone number) and password.
type LoginRequest struct {
	Email    string
	Password string
}

// AuthAPI is the identity service (/auth/v1) of a Client.
type AuthAPI struct {
	client *Client
}

// Login signs in (POST /auth/v1/token?grant_type=password) and makes the session current.
func (a *AuthAPI) Login(ctx context.Context, request *LoginRequest) (*Session, error) {
	if request == nil || request.Email == "" {
		return nil, errors.New("latchkey: Login needs an e-mail address")
	}
	result, err := a.client.Tokens.Login(ctx, PasswordAuth{Username: request.Email, Password: request.Password})
	if err != nil {
		return nil, err
	}
	session := &Session{Tokens: result.Tokens}
	if raw, ok := result.Body["user"]; ok {
		var user User
		if json.Unmarshal(raw, &user) == nil {
			session.User = &user
		}
	}
	return session, nil
}

// RefreshToken refreshes the session now, whatever the expiry of its access token.
func (a *AuthAPI) RefreshToken(ctx context.Context) (*TokenSet, error) {
	return a.client.Tokens.ForceRefresh(ctx, "")
}

// User returns the signed-in user (GET /auth/v1/user). When the server no longer knows the session it is
// cleared and ErrReauthRequired is returned.
func (a *AuthAPI) User(ctx context.Context) (*User, error) {
	var user User
	err := a.client.DoJSON(ctx, http.MethodGet, "/auth/v1/user", nil, &user)
	var failure *Error
	if errors.As(err, &failure) && failure.Code == CodeHTTP && (failure.OAuthError == "session_not_found" || failure.OAuthError == "user_not_found") {
		if clearErr := a.client.Tokens.Clear(ctx); clearErr != nil {
			return nil, clearErr
		}
		return nil, &Error{Code: CodeReauthRequired, Message: fmt.Sprintf("the session has ended (%s); sign in again", failure.OAuthError), Err: err}
	}
	if err != nil {
		return nil, err
	}
	return &user, nil
}

// LogoutScope is the scope of a logout: this session, every session of the user, or the others.
type LogoutScope string

const (
	LogoutLocal  LogoutScope = "local"
	LogoutGlobal LogoutScope = "global"
	LogoutOthers LogoutScope = "others"
)

// Logout ends the session on the server (POST /auth/v1/logout?scope=…; "" means local) and forgets it
// locally. A session the server no longer knows counts as ended.
func (a *AuthAPI) Logout(ctx context.Context, scope LogoutScope) error {
	if scope == "" {
		scope = LogoutLocal
	}
	if scope != LogoutLocal && scope != LogoutGlobal && scope != LogoutOthers {
		return fmt.Errorf("latchkey: unknown logout scope %q", scope)
	}
	tokens, err := a.client.Tokens.Tokens(ctx)
	if err == nil {
		response, err := a.client.send(ctx, http.MethodPost, "/auth/v1/logout?scope="+string(scope), nil, tokens)
		if err != nil {
			return err
		}
		if response.StatusCode >= 400 && response.StatusCode != 401 && response.StatusCode != 403 && response.StatusCode != 404 {
			return readJSON(response, nil)
		}
		response.Body.Close()
	} else if !errors.Is(err, ErrReauthRequired) && !errors.Is(err, ErrNotLoggedIn) && !errors.Is(err, ErrTokenEndpointUnavailable) {
		return err
	}
	if scope == LogoutOthers {
		return nil
	}
	return a.client.Tokens.Clear(ctx)
}
