package latchkey_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"latchkey"
)

// Token manager and store behaviour that needs forced faults, against an in-process token endpoint that
// answers what each case needs. The shared scenarios cover the live server.

type endpoint struct {
	mu      sync.Mutex
	grants  []string
	answers []func(w http.ResponseWriter)
	server  *httptest.Server
}

func newEndpoint(t *testing.T, answers ...func(w http.ResponseWriter)) *endpoint {
	e := &endpoint{answers: answers}
	e.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		e.mu.Lock()
		e.grants = append(e.grants, r.PostForm.Get("grant_type"))
		index := len(e.grants) - 1
		if index >= len(e.answers) {
			index = len(e.answers) - 1 // the last answer repeats
		}
		answer := e.answers[index]
		e.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(e.server.Close)
	return e
}

func (e *endpoint) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.grants...)
}

func answer(status int, headers map[string]string, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for name, value := range headers {
			w.Header().Set(name, value)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func issued(n int) func(w http.ResponseWriter) {
	return answer(200, nil, fmt.Sprintf(`{"access_token":"access-%d","token_type":"bearer","expires_in":3600,"refresh_token":"refresh-%d"}`, n, n))
}

func expiredSession() *latchkey.TokenSet {
	return &latchkey.TokenSet{AccessToken: "access-0", AccessExpiresAt: time.Now().Add(-time.Second), RefreshToken: "refresh-0"}
}

func manager(t *testing.T, e *endpoint, provider latchkey.AuthProvider, options latchkey.TokenManagerOptions) *latchkey.TokenManager {
	t.Helper()
	options.TokenURL = e.server.URL + "/auth/v1/oauth/token"
	if options.Store == nil {
		options.Store = latchkey.NewMemoryTokenStore(expiredSession())
	}
	m, err := latchkey.NewTokenManager(provider, options)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *endpoint) at(index int) string {
	return e.seen()[index]
}

func TestRetryAfterIsHonouredBeforeTheRetry(t *testing.T) {
	e := newEndpoint(t, answer(503, map[string]string{"Retry-After": "1"}, `{}`), issued(1))
	m := manager(t, e, nil, latchkey.TokenManagerOptions{})
	started := time.Now()
	header, err := m.AuthorizationHeader(context.Background())
	if err != nil || header != "Bearer access-1" {
		t.Fatal(header, err)
	}
	if time.Since(started) < time.Second || len(e.seen()) != 2 || e.at(0) != "refresh_token" {
		t.Fatalf("grants %v after %s", e.seen(), time.Since(started))
	}
}

func TestAPasswordProviderSignsInAgainWhenTheRefreshTokenIsDead(t *testing.T) {
	e := newEndpoint(t, answer(400, nil, `{"error":"invalid_grant"}`), issued(2))
	m := manager(t, e, latchkey.PasswordAuth{Username: "ada@example.com", Password: "secret"}, latchkey.TokenManagerOptions{})
	header, err := m.AuthorizationHeader(context.Background())
	if err != nil || header != "Bearer access-2" {
		t.Fatal(header, err)
	}
	if got := e.seen(); len(got) != 2 || got[0] != "refresh_token" || got[1] != "password" {
		t.Fatalf("grants %v", got)
	}
}

func TestWrongCredentialsOnAFirstSignInAreNotASessionEnd(t *testing.T) {
	e := newEndpoint(t, answer(400, nil, `{"error":"invalid_grant","error_description":"wrong password"}`))
	m := manager(t, e, latchkey.PasswordAuth{Username: "ada@example.com", Password: "wrong"}, latchkey.TokenManagerOptions{Store: latchkey.NewMemoryTokenStore(nil)})
	_, err := m.Tokens(context.Background())
	var failure *latchkey.Error
	if !errors.As(err, &failure) || failure.Code != latchkey.CodeTokenEndpoint || failure.OAuthError != "invalid_grant" || errors.Is(err, latchkey.ErrReauthRequired) {
		t.Fatalf("got %v", err)
	}
}

func TestANonconformingAnswerIsAnError(t *testing.T) {
	e := newEndpoint(t, answer(200, nil, `{"token_type":"bearer","expires_in":60}`))
	m := manager(t, e, nil, latchkey.TokenManagerOptions{})
	if _, err := m.Tokens(context.Background()); !errors.Is(err, latchkey.ErrInvalidTokenResponse) {
		t.Fatalf("got %v", err)
	}
}

func TestForceRefreshWithATokenNoLongerCurrentSendsNothing(t *testing.T) {
	e := newEndpoint(t, issued(1))
	m := manager(t, e, nil, latchkey.TokenManagerOptions{})
	ctx := context.Background()
	first, err := m.ForceRefresh(ctx, "access-0")
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.ForceRefresh(ctx, "access-0")
	if err != nil || first.AccessToken != "access-1" || again.AccessToken != "access-1" || len(e.seen()) != 1 {
		t.Fatalf("%v %v %v", first, again, e.seen())
	}
}

func TestACallerGivingUpDoesNotFailTheOthers(t *testing.T) {
	release := make(chan struct{})
	e := newEndpoint(t, func(w http.ResponseWriter) { <-release; issued(1)(w) })
	m := manager(t, e, nil, latchkey.TokenManagerOptions{})
	impatient, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := m.Tokens(impatient); done <- err }()
	waitUntil(t, 5*time.Second, func() bool { return len(e.seen()) == 1 })
	patient := make(chan string, 1)
	go func() { header, _ := m.AuthorizationHeader(context.Background()); patient <- header }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	close(release)
	if header := <-patient; header != "Bearer access-1" || len(e.seen()) != 1 {
		t.Fatalf("got %q after %v", header, e.seen())
	}
}

func TestTheFileLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json")
	first, second := latchkey.NewFileTokenStore(path), latchkey.NewFileTokenStore(path)
	second.LockTimeout = 200 * time.Millisecond
	ctx := context.Background()
	unlock, err := first.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Lock(ctx); !errors.Is(err, latchkey.ErrStoreLockTimeout) {
		t.Fatalf("got %v", err)
	}
	unlock()
	again, err := second.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again()
}

func TestACorruptSessionFileIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "session.json")
	if err := os.WriteFile(path, []byte(`{"access_token": `), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := latchkey.NewFileTokenStore(path).Load(context.Background())
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if tokens != nil || err != nil || len(aside) != 1 {
		t.Fatalf("%v %v %v", tokens, err, aside)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the corrupt file is still in place")
	}
}

func TestTheStoredFormIsSharedWithTheOtherClients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json")
	// Written by the TypeScript or Python client: milliseconds since the epoch.
	if err := os.WriteFile(path, []byte(`{"access_token":"a","token_type":"Bearer","access_expires_at":1796194011210,"refresh_token":"r","refresh_expires_at":null}`), 0o600); err != nil {
		t.Fatal(err)
	}
	store := latchkey.NewFileTokenStore(path)
	tokens, err := store.Load(context.Background())
	if err != nil || tokens.AccessExpiresAt.UnixMilli() != 1796194011210 || tokens.RefreshToken != "r" || !tokens.RefreshExpiresAt.IsZero() {
		t.Fatalf("%+v %v", tokens, err)
	}
	if err := store.Save(context.Background(), tokens); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != `{"access_token":"a","token_type":"Bearer","access_expires_at":1796194011210,"refresh_token":"r","refresh_expires_at":null}`+"\n" {
		t.Fatalf("wrote %s", data)
	}
}
