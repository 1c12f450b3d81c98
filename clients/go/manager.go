package latchkey

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// RetryPolicy governs retries of transient token endpoint failures (network, 5xx, 408, 409, 429).
type RetryPolicy struct {
	// Attempts per refresh, the first included. Default 4.
	Attempts int
	// BaseDelay of the full-jitter backoff: attempt n waits a random time up to BaseDelay * 2^n. Default 200 ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Default 5 s.
	MaxDelay time.Duration
	// MaxRetryAfter: a longer Retry-After is not waited for. Default 30 s.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 30 * time.Second
	}
	return p
}

func (p RetryPolicy) delay(attempt int) time.Duration {
	ceiling := p.BaseDelay << uint(attempt)
	if ceiling > p.MaxDelay || ceiling <= 0 {
		ceiling = p.MaxDelay
	}
	return time.Duration(rand.Int63n(int64(ceiling) + 1))
}

// TokenManagerOptions configures a TokenManager.
type TokenManagerOptions struct {
	// TokenURL is …/auth/v1/oauth/token (ProtocolOAuth, the default) or …/auth/v1/token (ProtocolGoTrue).
	TokenURL string
	Protocol Protocol
	// APIKey is sent as the apikey header (the anon key).
	APIKey string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Store defaults to a new MemoryTokenStore.
	Store TokenStore
	// ExpirySkew: a token this close to expiry counts as expired. Default 30 s; negative means 0.
	ExpirySkew time.Duration
	Retry      RetryPolicy
	// FailureCooldown: after a transient failure, how long a still-valid token is used without asking
	// the endpoint again (at least the server's Retry-After). Default 5 s.
	FailureCooldown time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

type flight struct {
	done    chan struct{}
	tokens  *TokenSet
	err     error
	refresh bool
}

type cooldown struct {
	refreshToken string
	until        time.Time
	err          error
}

// TokenManager keeps an access token valid for one session; safe for concurrent use by goroutines.
//
//   - AuthorizationHeader returns at once while the token is valid; otherwise every caller shares one
//     refresh in flight. With a LockingStore (FileTokenStore) processes share it too: the store is
//     reloaded inside the lock, so a token another process already rotated is adopted.
//   - ForceRefresh(ctx, rejected) after an unexpected 401 refreshes only if rejected is still current.
//   - Permanent failures (invalid_grant, refresh_token_not_found, session_not_found, …) clear the store
//     and return ErrReauthRequired — unless the provider can sign in again by itself.
//   - Transient failures are retried with jittered backoff honouring Retry-After; if they persist a
//     still-valid token is kept, otherwise ErrTokenEndpointUnavailable is returned with the session kept.
//
// A refresh runs detached from the caller's context (its own request timeout), so one caller giving up
// does not fail the others waiting for it.
type TokenManager struct {
	provider AuthProvider
	endpoint tokenEndpoint
	http     *http.Client
	store    TokenStore
	skew     time.Duration
	retry    RetryPolicy
	coolFor  time.Duration
	now      func() time.Time
	requests int64

	mu           sync.Mutex
	loaded       bool
	cached       *TokenSet
	inflight     *flight
	providerUsed bool
	cool         *cooldown
}

// NewTokenManager returns a manager; provider may be nil for a manager that continues a stored session.
func NewTokenManager(provider AuthProvider, options TokenManagerOptions) (*TokenManager, error) {
	if options.TokenURL == "" {
		return nil, errors.New("latchkey: TokenURL is required")
	}
	if options.Protocol == "" {
		options.Protocol = ProtocolOAuth
	}
	if options.Protocol != ProtocolOAuth && options.Protocol != ProtocolGoTrue {
		return nil, fmt.Errorf("latchkey: unknown protocol %q", options.Protocol)
	}
	if options.HTTPClient == nil {
		options.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if options.Store == nil {
		options.Store = NewMemoryTokenStore(nil)
	}
	if options.ExpirySkew == 0 {
		options.ExpirySkew = 30 * time.Second
	} else if options.ExpirySkew < 0 {
		options.ExpirySkew = 0
	}
	if options.FailureCooldown <= 0 {
		options.FailureCooldown = 5 * time.Second
	}
	if options.Now == nil {
		options.Now = time.Now
	}
	return &TokenManager{
		provider: provider,
		endpoint: tokenEndpoint{url: options.TokenURL, protocol: options.Protocol, apiKey: options.APIKey},
		http:     options.HTTPClient,
		store:    options.Store,
		skew:     options.ExpirySkew,
		retry:    options.Retry.withDefaults(),
		coolFor:  options.FailureCooldown,
		now:      options.Now,
	}, nil
}

// Store is the manager's token store.
func (m *TokenManager) Store() TokenStore { return m.store }

// TokenRequests is the number of token requests this manager has sent (successful or not).
func (m *TokenManager) TokenRequests() int64 { return atomic.LoadInt64(&m.requests) }

// AuthorizationHeader returns the Authorization header value for a valid access token.
func (m *TokenManager) AuthorizationHeader(ctx context.Context) (string, error) {
	tokens, err := m.Tokens(ctx)
	if err != nil {
		return "", err
	}
	return tokens.AuthorizationHeader(), nil
}

// Tokens returns a valid token set, refreshing first if needed.
func (m *TokenManager) Tokens(ctx context.Context) (*TokenSet, error) {
	current, err := m.Peek(ctx)
	if err != nil {
		return nil, err
	}
	if current != nil && current.AccessValid(m.skew, m.now()) {
		return current, nil
	}
	return m.refresh(ctx, "", false)
}

// Peek returns the session as last seen, without refreshing (nil when there is none).
func (m *TokenManager) Peek(ctx context.Context) (*TokenSet, error) {
	m.mu.Lock()
	if m.loaded {
		defer m.mu.Unlock()
		return m.cached, nil
	}
	m.mu.Unlock()
	tokens, err := m.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		m.cached, m.loaded = tokens, true
	}
	return m.cached, nil
}

// ForceRefresh refreshes because a resource server rejected the access token rejected (without scheme).
// If the current token is already another one it is returned without a request, so a burst of 401s
// costs one refresh. With rejected == "" the current token is refreshed unconditionally.
func (m *TokenManager) ForceRefresh(ctx context.Context, rejected string) (*TokenSet, error) {
	if rejected == "" {
		current, err := m.Peek(ctx)
		if err != nil {
			return nil, err
		}
		if current != nil {
			rejected = current.AccessToken
		}
	}
	m.mu.Lock()
	running := m.inflight
	m.mu.Unlock()
	if running != nil && running.refresh {
		select {
		case <-running.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if running.err != nil {
			return nil, running.err
		}
		if running.tokens.AccessToken != rejected {
			return running.tokens, nil
		}
	}
	m.mu.Lock()
	current := m.cached
	m.mu.Unlock()
	if current != nil && current.AccessToken != rejected && current.AccessValid(m.skew, m.now()) {
		return current, nil
	}
	return m.refresh(ctx, rejected, true)
}

// Login starts a session with provider's grant (nil: the manager's own), replacing any stored session.
func (m *TokenManager) Login(ctx context.Context, provider AuthProvider) (*GrantResult, error) {
	if provider == nil {
		provider = m.provider
	}
	if provider == nil {
		return nil, newError(CodeNotLoggedIn, "no provider to log in with")
	}
	var result *GrantResult
	err := m.exclusive(ctx, func(ctx context.Context) error {
		var err error
		result, err = m.grantWithRetry(ctx, provider.GrantFields())
		if err != nil {
			return err
		}
		if err := m.store.Save(ctx, result.Tokens); err != nil {
			return err
		}
		m.mu.Lock()
		m.cached, m.loaded, m.cool = result.Tokens, true, nil
		if provider == m.provider {
			m.providerUsed = true
		}
		m.mu.Unlock()
		return nil
	})
	return result, err
}

// SetTokens adopts tokens obtained elsewhere as the session.
func (m *TokenManager) SetTokens(ctx context.Context, tokens *TokenSet) error {
	return m.exclusive(ctx, func(ctx context.Context) error {
		if err := m.store.Save(ctx, tokens); err != nil {
			return err
		}
		m.mu.Lock()
		copied := *tokens
		m.cached, m.loaded, m.cool = &copied, true, nil
		m.mu.Unlock()
		return nil
	})
}

// Clear forgets the session (local logout): clears the store.
func (m *TokenManager) Clear(ctx context.Context) error {
	return m.exclusive(ctx, m.forget)
}

func (m *TokenManager) forget(ctx context.Context) error {
	if err := m.store.Clear(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	m.cached, m.loaded, m.cool = nil, true, nil
	m.mu.Unlock()
	return nil
}

// exclusive runs work as the operation in flight (after any other), inside the store's lock.
func (m *TokenManager) exclusive(ctx context.Context, work func(context.Context) error) error {
	var mine *flight
	for mine == nil {
		m.mu.Lock()
		running := m.inflight
		if running == nil {
			mine = &flight{done: make(chan struct{})}
			m.inflight = mine
			m.mu.Unlock()
			break
		}
		m.mu.Unlock()
		select {
		case <-running.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := m.locked(ctx, work)
	m.mu.Lock()
	mine.err = err
	m.inflight = nil
	m.mu.Unlock()
	close(mine.done)
	return err
}

func (m *TokenManager) locked(ctx context.Context, work func(context.Context) error) error {
	if locking, ok := m.store.(LockingStore); ok {
		unlock, err := locking.Lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return work(ctx)
}

// refresh joins the refresh in flight or starts one, detached from ctx, and waits for it.
func (m *TokenManager) refresh(ctx context.Context, rejected string, forced bool) (*TokenSet, error) {
	for {
		m.mu.Lock()
		running := m.inflight
		if running == nil {
			running = &flight{done: make(chan struct{}), refresh: true}
			m.inflight = running
			m.mu.Unlock()
			go m.runRefresh(running, rejected, forced)
		} else {
			m.mu.Unlock()
		}
		select {
		case <-running.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if running.refresh {
			return running.tokens, running.err
		}
		// A login, logout or adoption was in flight: look again.
		current, err := m.Peek(ctx)
		if err != nil {
			return nil, err
		}
		if current != nil && current.AccessValid(m.skew, m.now()) && (!forced || current.AccessToken != rejected) {
			return current, nil
		}
	}
}

func (m *TokenManager) runRefresh(running *flight, rejected string, forced bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var tokens *TokenSet
	err := m.locked(ctx, func(ctx context.Context) error {
		var err error
		tokens, err = m.renew(ctx, rejected, forced)
		return err
	})
	m.mu.Lock()
	running.tokens, running.err = tokens, err
	m.inflight = nil
	m.mu.Unlock()
	close(running.done)
}

// renew runs inside the store's lock: reload, then refresh only if still needed.
func (m *TokenManager) renew(ctx context.Context, rejected string, forced bool) (*TokenSet, error) {
	stored, err := m.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.cached, m.loaded = stored, true
	cool := m.cool
	providerUsed := m.providerUsed
	m.mu.Unlock()
	notRejected := func(tokens *TokenSet) bool { return !forced || tokens.AccessToken != rejected }
	now := m.now()
	if stored != nil && stored.AccessValid(m.skew, now) && notRejected(stored) {
		return stored, nil
	}
	if stored != nil && cool != nil && cool.refreshToken == stored.RefreshToken && now.Before(cool.until) {
		if stored.AccessValid(0, now) && notRejected(stored) {
			return stored, nil
		}
		return nil, cool.err
	}

	provider := m.provider
	canUseProvider := provider != nil && (provider.CanReauthenticate() || (!providerUsed && stored == nil))
	var grant Grant
	fromStore := false
	switch {
	case stored != nil && stored.RefreshValid(m.skew, now):
		clientID := ""
		if provider != nil {
			clientID = provider.ClientID()
		}
		grant, fromStore = refreshGrant(stored.RefreshToken, clientID), true
	case canUseProvider:
		grant = provider.GrantFields()
	case stored != nil:
		why := "the refresh token has expired"
		if stored.RefreshToken == "" {
			why = "the access token expired and there is no refresh token"
		}
		return nil, m.endSession(ctx, newError(CodeReauthRequired, "%s; sign in again", why))
	default:
		return nil, newError(CodeNotLoggedIn, "not logged in")
	}

	result, err := m.grantWithRetry(ctx, grant)
	if err != nil {
		var failure *Error
		if !errors.As(err, &failure) {
			return nil, err
		}
		if failure.Code == CodeTokenEndpointUnavailable {
			wait := m.coolFor
			if failure.RetryAfter > wait {
				wait = failure.RetryAfter
			}
			refreshToken := ""
			if stored != nil {
				refreshToken = stored.RefreshToken
			}
			m.mu.Lock()
			m.cool = &cooldown{refreshToken: refreshToken, until: m.now().Add(wait), err: err}
			m.mu.Unlock()
			if stored != nil && stored.AccessValid(0, m.now()) && notRejected(stored) {
				return stored, nil
			}
			return nil, err
		}
		if failure.Code != CodeTokenEndpoint || !sessionEndedErrors[failure.OAuthError] {
			return nil, err
		}
		switch {
		case fromStore && canUseProvider:
			result, err = m.grantWithRetry(ctx, provider.GrantFields())
			if err != nil {
				var second *Error
				if errors.As(err, &second) && second.Code == CodeTokenEndpoint && sessionEndedErrors[second.OAuthError] {
					return nil, m.endSession(ctx, &Error{Code: CodeReauthRequired, Message: fmt.Sprintf("the session has ended (%s); sign in again", second.OAuthError), Err: err})
				}
				return nil, err
			}
			fromStore = false
		case fromStore || stored != nil || grant["grant_type"] == "refresh_token":
			if !fromStore {
				m.markProviderUsed(provider)
			}
			return nil, m.endSession(ctx, &Error{Code: CodeReauthRequired, Message: fmt.Sprintf("the session has ended (%s); sign in again", failure.OAuthError), Err: err})
		default:
			return nil, err // wrong credentials on a first sign-in
		}
	}
	tokens := result.Tokens
	if fromStore && tokens.RefreshToken == "" && stored != nil {
		// The server did not rotate: keep the refresh token we have (RFC 6749 §6).
		tokens.RefreshToken, tokens.RefreshExpiresAt = stored.RefreshToken, stored.RefreshExpiresAt
	}
	if !fromStore {
		m.markProviderUsed(provider)
	}
	if err := m.store.Save(ctx, tokens); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.cached, m.loaded, m.cool = tokens, true, nil
	m.mu.Unlock()
	return tokens, nil
}

func (m *TokenManager) markProviderUsed(provider AuthProvider) {
	if provider != nil && provider == m.provider {
		m.mu.Lock()
		m.providerUsed = true
		m.mu.Unlock()
	}
}

func (m *TokenManager) endSession(ctx context.Context, err *Error) error {
	if clearErr := m.forget(ctx); clearErr != nil {
		return clearErr
	}
	return err
}

func (m *TokenManager) grantWithRetry(ctx context.Context, grant Grant) (*GrantResult, error) {
	for attempt := 0; ; attempt++ {
		result, err := m.grant(ctx, grant)
		var failure *Error
		if err == nil || !errors.As(err, &failure) || failure.Code != CodeTokenEndpointUnavailable || attempt+1 >= m.retry.Attempts {
			return result, err
		}
		delay := failure.RetryAfter
		if delay == 0 {
			delay = m.retry.delay(attempt)
		}
		if delay > m.retry.MaxRetryAfter {
			return nil, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (m *TokenManager) grant(ctx context.Context, grant Grant) (*GrantResult, error) {
	request, err := m.endpoint.request(grant)
	if err != nil {
		return nil, err
	}
	requestedAt := m.now()
	atomic.AddInt64(&m.requests, 1)
	response, err := m.http.Do(request.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Code: CodeTokenEndpointUnavailable, Message: "token endpoint unreachable: " + err.Error(), Err: err}
	}
	defer response.Body.Close()
	return processTokenResponse(response, requestedAt, m.now())
}
