package latchkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"latchkey"
)

// TestScenarios runs the shared client scenarios (clients/scenarios/scenarios.json) against a live server.
func TestScenarios(t *testing.T) {
	file := loadScenarios(t)
	implementations := map[string]func(*testing.T, scenario, *server, string){
		"login":                           scenarioLogin,
		"concurrent_refresh":              scenarioConcurrentRefresh,
		"unauthorized_forces_one_refresh": scenarioUnauthorized,
		"permanent_failure_clears_store":  scenarioPermanentFailure,
		"transient_failure_keeps_session": scenarioTransientFailure,
		"file_store":                      scenarioFileStore,
		"realtime_inband_refresh":         scenarioRealtime,
		"realtime_invalid_token":          scenarioRealtimeInvalidToken,
		"realtime_session_ended":          scenarioRealtimeSessionEnded,
		"realtime_expired_at_connect":     scenarioRealtimeExpiredAtConnect,
	}
	for _, each := range file.Scenarios {
		each := each
		t.Run(each.ID, func(t *testing.T) {
			implementation := implementations[each.ID]
			if implementation == nil {
				t.Fatalf("no Go implementation of scenario %s", each.ID)
			}
			implementation(t, each, serverFor(t, file.Servers[each.Server].JWTExpiry), file.Password)
		})
	}
}

func signedIn(t *testing.T, target *server, password string, options ...latchkey.ClientOption) (*latchkey.Client, testUser) {
	t.Helper()
	user := target.createUser(t, "", password)
	client, err := latchkey.NewClient(target.URL, options...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Auth.Login(context.Background(), &latchkey.LoginRequest{Email: user.Email, Password: user.Password}); err != nil {
		t.Fatal(err)
	}
	return client, user
}

// nearExpiry moves the stored access token inside the expiry skew, so the next caller must refresh.
func nearExpiry(t *testing.T, client *latchkey.Client) *latchkey.TokenSet {
	t.Helper()
	ctx := context.Background()
	tokens, err := client.Tokens.Peek(ctx)
	if err != nil || tokens == nil {
		t.Fatal("no session", err)
	}
	moved := *tokens
	moved.AccessExpiresAt = time.Now().Add(5 * time.Second)
	if err := client.Tokens.SetTokens(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	return &moved
}

func scenarioLogin(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	user := target.createUser(t, "", password)
	client, err := latchkey.NewClient(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	before := target.tokenRequests(t)
	session, err := client.Auth.Login(ctx, &latchkey.LoginRequest{Email: user.Email, Password: user.Password})
	if err != nil {
		t.Fatal(err)
	}
	if got := target.tokenRequests(t) - before; got != s.expectInt("login_token_requests") {
		t.Fatalf("login sent %d token requests", got)
	}
	if session.User == nil || session.User.Email != user.Email {
		t.Fatalf("login answered user %+v", session.User)
	}
	stored, _ := client.Tokens.Store().Load(ctx)
	if stored == nil || stored.AccessToken != session.Tokens.AccessToken {
		t.Fatal("the session was not stored")
	}
	me, err := client.Auth.User(ctx)
	if err != nil || me.ID != user.ID {
		t.Fatalf("User: %v %+v", err, me)
	}
	before = target.tokenRequests(t)
	rotated, err := client.Auth.RefreshToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := target.tokenRequests(t) - before; got != s.expectInt("refresh_token_requests") {
		t.Fatalf("refresh sent %d token requests", got)
	}
	if rotated.AccessToken == session.Tokens.AccessToken || rotated.RefreshToken == session.Tokens.RefreshToken {
		t.Fatal("RefreshToken did not rotate the pair")
	}
	if err := client.Auth.Logout(ctx, latchkey.LogoutLocal); err != nil {
		t.Fatal(err)
	}
	if stored, _ := client.Tokens.Store().Load(ctx); stored != nil || s.expectString("store_after_logout") != "empty" {
		t.Fatal("the store was not cleared")
	}
	body := strings.NewReader(fmt.Sprintf(`{"refresh_token":%q}`, rotated.RefreshToken))
	request, _ := http.NewRequest(http.MethodPost, target.URL+"/auth/v1/token?grant_type=refresh_token", body)
	request.Header.Set("apikey", target.AnonKey)
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != 400 {
		t.Fatalf("the ended session's refresh token answered %d", response.StatusCode)
	}
}

func scenarioConcurrentRefresh(t *testing.T, s scenario, target *server, password string) {
	client, _ := signedIn(t, target, password)
	old := nearExpiry(t, client)
	headers := make([]string, s.Callers)
	errs := make([]error, s.Callers)
	before := target.tokenRequests(t)
	together(s.Callers, func(i int) {
		headers[i], errs[i] = client.Tokens.AuthorizationHeader(context.Background())
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := target.tokenRequests(t) - before; got != s.expectInt("token_requests") {
		t.Fatalf("%d concurrent callers sent %d token requests", s.Callers, got)
	}
	distinct := map[string]bool{}
	for _, header := range headers {
		distinct[header] = true
	}
	if len(distinct) != s.expectInt("distinct_tokens") || headers[0] == old.AuthorizationHeader() {
		t.Fatalf("callers got %d distinct headers", len(distinct))
	}
}

func scenarioUnauthorized(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	client, _ := signedIn(t, target, password)
	tokens, _ := client.Tokens.Peek(ctx)
	rejected := *tokens
	rejected.AccessToken = "rejected.by.server"
	rejected.AccessExpiresAt = time.Now().Add(time.Hour)
	if err := client.Tokens.SetTokens(ctx, &rejected); err != nil {
		t.Fatal(err)
	}
	statuses := make([]int, s.Callers)
	before := target.tokenRequests(t)
	together(s.Callers, func(i int) {
		response, err := client.Do(ctx, http.MethodGet, s.Resource, nil)
		if err != nil {
			t.Error(err)
			return
		}
		response.Body.Close()
		statuses[i] = response.StatusCode
	})
	if got := target.tokenRequests(t) - before; got != s.expectInt("token_requests") {
		t.Fatalf("%d rejected requests sent %d token requests", s.Callers, got)
	}
	for _, status := range statuses {
		if status != s.expectInt("status") {
			t.Fatalf("statuses %v", statuses)
		}
	}
}

// together runs call(0…n-1) on n goroutines released at the same moment, and waits for them.
func together(n int, call func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			call(i)
		}(i)
	}
	close(start)
	wg.Wait()
}

func scenarioPermanentFailure(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	store := latchkey.NewFileTokenStore(filepath.Join(t.TempDir(), "session.json"))
	client, _ := signedIn(t, target, password, latchkey.WithStore(store))
	tokens, _ := client.Tokens.Peek(ctx)
	request, _ := http.NewRequest(http.MethodPost, target.URL+"/auth/v1/logout?scope=global", nil)
	request.Header.Set("apikey", target.AnonKey)
	request.Header.Set("Authorization", tokens.AuthorizationHeader())
	response, err := http.DefaultClient.Do(request)
	if err != nil || response.StatusCode != 204 {
		t.Fatalf("global logout: %v", err)
	}
	response.Body.Close()
	nearExpiry(t, client)
	before := target.tokenRequests(t)
	_, err = client.Tokens.AuthorizationHeader(ctx)
	if s.expectString("error") != "reauth_required" || !errors.Is(err, latchkey.ErrReauthRequired) {
		t.Fatalf("got %v, want ErrReauthRequired", err)
	}
	if got := target.tokenRequests(t) - before; got != s.expectInt("token_requests") {
		t.Fatalf("sent %d token requests", got)
	}
	if stored, _ := store.Load(ctx); stored != nil || s.expectString("store_after") != "empty" {
		t.Fatal("the store was not cleared")
	}
	if _, err := os.Stat(store.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the session file still exists")
	}
}

func scenarioTransientFailure(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	client, _ := signedIn(t, target, password)
	session := nearExpiry(t, client)
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tokenURL := fmt.Sprintf("http://%s/auth/v1/token", probe.Addr())
	probe.Close()
	store := latchkey.NewMemoryTokenStore(session)
	retry := latchkey.RetryPolicy{Attempts: s.Attempts, BaseDelay: 10 * time.Millisecond}
	manager, _ := latchkey.NewTokenManager(nil, latchkey.TokenManagerOptions{TokenURL: tokenURL, Protocol: latchkey.ProtocolGoTrue, Store: store, Retry: retry})
	header, err := manager.AuthorizationHeader(ctx)
	if err != nil || header != session.AuthorizationHeader() {
		t.Fatalf("a still-valid token was not kept: %v", err)
	}
	if manager.TokenRequests() != int64(s.Attempts) {
		t.Fatalf("sent %d token requests", manager.TokenRequests())
	}
	expiredSession := *session
	expiredSession.AccessExpiresAt = time.Now().Add(-time.Second)
	_ = store.Save(ctx, &expiredSession)
	expired, _ := latchkey.NewTokenManager(nil, latchkey.TokenManagerOptions{TokenURL: tokenURL, Protocol: latchkey.ProtocolGoTrue, Store: store, Retry: retry})
	_, err = expired.AuthorizationHeader(ctx)
	if s.expectString("error") != "token_endpoint_unavailable" || !errors.Is(err, latchkey.ErrTokenEndpointUnavailable) {
		t.Fatalf("got %v, want ErrTokenEndpointUnavailable", err)
	}
	if expired.TokenRequests() != int64(s.Attempts) {
		t.Fatalf("sent %d token requests", expired.TokenRequests())
	}
	if stored, _ := store.Load(ctx); stored == nil || s.expectString("store_after") != "kept" {
		t.Fatal("the session was not kept")
	}
}

func scenarioFileStore(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "private", "session.json")
	store := latchkey.NewFileTokenStore(path)
	client, _ := signedIn(t, target, password, latchkey.WithStore(store))
	for file, want := range map[string]string{path: s.expectString("file_mode"), filepath.Dir(path): s.expectString("dir_mode")} {
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%04o", info.Mode().Perm()); got != want {
			t.Fatalf("%s has mode %s, want %s", file, got, want)
		}
	}

	// Atomic writes: another process rewrites the file while this one reads it.
	atomicPath := filepath.Join(dir, "atomic", "session.json")
	tokens, _ := client.Tokens.Peek(ctx)
	if err := latchkey.NewFileTokenStore(atomicPath).Save(ctx, tokens); err != nil {
		t.Fatal(err)
	}
	writer := child("write-loop", atomicPath, "3")
	output, err := writer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	torn := 0
	for read := 0; read < s.Reads; read++ {
		var fields map[string]interface{}
		data, err := os.ReadFile(atomicPath)
		if err != nil || json.Unmarshal(data, &fields) != nil || fields["access_token"] == nil {
			torn++
		}
		time.Sleep(2 * time.Millisecond)
	}
	var writes int
	_, _ = fmt.Fscan(output, &writes)
	if err := writer.Wait(); err != nil || writes < 10 {
		t.Fatalf("the writer made %d writes: %v", writes, err)
	}
	if torn != s.expectInt("torn_reads") {
		t.Fatalf("%d torn reads", torn)
	}

	// Cross-process lock: processes sharing the file refresh an expired token once between them.
	nearExpiry(t, client)
	goFile := filepath.Join(dir, "go")
	var children []*exec.Cmd
	var outputs []*strings.Builder
	for i := 0; i < s.Processes; i++ {
		cmd := child("refresh", path, target.URL+"/auth/v1/token", target.AnonKey, goFile)
		out := &strings.Builder{}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children, outputs = append(children, cmd), append(outputs, out)
	}
	time.Sleep(time.Second) // every process started and waits for the signal
	before := target.tokenRequests(t)
	if err := os.WriteFile(goFile, []byte("go"), 0o600); err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for i, cmd := range children {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("a refreshing process failed: %v", err)
		}
		distinct[strings.TrimSpace(outputs[i].String())] = true
	}
	if got := target.tokenRequests(t) - before; got != s.expectInt("token_requests") {
		t.Fatalf("%d processes sent %d token requests", s.Processes, got)
	}
	stored, _ := store.Load(ctx)
	if len(distinct) != s.expectInt("distinct_tokens") || !distinct[stored.AuthorizationHeader()] {
		t.Fatalf("processes got %d distinct headers", len(distinct))
	}
}

// child runs this test binary as one of the scenario's helper processes (see runChild).
func child(mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LATCHKEY_SCENARIO_CHILD="+mode, "LATCHKEY_SCENARIO_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stderr = os.Stderr
	return cmd
}

func runChild(mode string) int {
	args := strings.Split(os.Getenv("LATCHKEY_SCENARIO_ARGS"), "\x1f")
	ctx := context.Background()
	switch mode {
	case "write-loop":
		store := latchkey.NewFileTokenStore(args[0])
		seconds, _ := strconv.Atoi(args[1])
		sessions := []*latchkey.TokenSet{
			{AccessToken: strings.Repeat("a", 600), AccessExpiresAt: time.Now().Add(time.Hour), RefreshToken: strings.Repeat("r", 40)},
			{AccessToken: strings.Repeat("b", 900), AccessExpiresAt: time.Now().Add(time.Hour), RefreshToken: strings.Repeat("s", 80)},
		}
		deadline := time.Now().Add(time.Duration(seconds) * time.Second)
		n := 0
		for time.Now().Before(deadline) {
			if err := store.Save(ctx, sessions[n%2]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			n++
		}
		fmt.Println(n)
	case "refresh":
		manager, err := latchkey.NewTokenManager(nil, latchkey.TokenManagerOptions{
			TokenURL: args[1], Protocol: latchkey.ProtocolGoTrue, APIKey: args[2],
			Store: latchkey.NewFileTokenStore(args[0]), ExpirySkew: 5 * time.Second,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for {
			if _, err := os.Stat(args[3]); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		header, err := manager.AuthorizationHeader(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(header)
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	return 0
}

func scenarioRealtime(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	client, user := signedIn(t, target, password, latchkey.WithExpirySkew(time.Second))
	var mu sync.Mutex
	var log []string
	var received []string
	var issued []string
	record := func(entry string) {
		mu.Lock()
		log = append(log, entry)
		mu.Unlock()
	}
	source := latchkey.TokenSourceFrom(client.Tokens)
	ws := latchkey.NewWSClient(target.WSURL, "", latchkey.WithTokenSource(func(ctx context.Context) (string, error) {
		token, err := source(ctx)
		if err == nil {
			mu.Lock()
			issued = append(issued, token)
			mu.Unlock()
		}
		return token, err
	}), latchkey.WithEvents(latchkey.WSEvents{
		OnConnecting:   func(e latchkey.ConnectingEvent) { record(fmt.Sprintf("connecting %d", e.Code)) },
		OnConnected:    func(latchkey.ConnectedEvent) { record("connected") },
		OnDisconnected: func(e latchkey.DisconnectedEvent) { record(fmt.Sprintf("disconnected %d", e.Code)) },
		OnError:        func(err error) { record("error " + err.Error()) },
	}))
	channel := "user:#" + user.ID
	subscription, err := ws.Subscribe(channel, func(p latchkey.Publication) {
		mu.Lock()
		received = append(received, string(p.Data))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ws.Connect(connectCtx); err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := subscription.Ready(connectCtx); err != nil {
		t.Fatal(err)
	}
	count := func(list *[]string) func() int {
		return func() int { mu.Lock(); defer mu.Unlock(); return len(*list) }
	}
	issuedCount, receivedCount := count(&issued), count(&received)
	for n := 1; n <= s.Rotations; n++ {
		waitUntil(t, 15*time.Second, func() bool { return issuedCount() > n })
		time.Sleep(300 * time.Millisecond) // let the refresh command land
		target.publish(t, channel, map[string]int{"n": n})
		waitUntil(t, 10*time.Second, func() bool { return receivedCount() == n })
	}
	waitUntil(t, 15*time.Second, func() bool { return issuedCount() > s.Rotations+1 })
	answer, err := ws.RPC(ctx, s.RPC.Method, s.RPC.Data)
	if err != nil {
		t.Fatal(err)
	}
	var echoed struct {
		Method string          `json:"method"`
		User   string          `json:"user"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(answer, &echoed); err != nil || echoed.Method != s.RPC.Method || echoed.User != user.ID || compactJSON(echoed.Data) != compactJSON(s.RPC.Data) {
		t.Fatalf("rpc answered %s", answer)
	}
	mu.Lock()
	defer mu.Unlock()
	for n, data := range received {
		if data != fmt.Sprintf(`{"n":%d}`, n+1) {
			t.Fatalf("received %v", received)
		}
	}
	distinct := map[string]bool{}
	for _, token := range issued {
		distinct[token] = true
	}
	if len(distinct) != len(issued) {
		t.Fatal("a token was issued twice")
	}
	connects, disconnects := 0, 0
	for _, entry := range log {
		switch {
		case entry == "connected":
			connects++
		case strings.HasPrefix(entry, "disconnected"), strings.HasPrefix(entry, "error"):
			disconnects++
		}
	}
	if connects != s.expectInt("connects") || disconnects != s.expectInt("disconnects") || strings.Join(log, ",") != "connecting 0,connected" {
		t.Fatalf("events %v", log)
	}
	if ws.State() != latchkey.StateConnected || subscription.State() != "subscribed" {
		t.Fatal("not connected and subscribed at the end")
	}
}

func compactJSON(data []byte) string {
	var value interface{}
	_ = json.Unmarshal(data, &value)
	out, _ := json.Marshal(value)
	return string(out)
}

// recorder records realtime events as "connecting <code>", "connected", "disconnected <code>", "reauth".
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(entry string) {
	r.mu.Lock()
	r.log = append(r.log, entry)
	r.mu.Unlock()
}

func (r *recorder) events() latchkey.WSEvents {
	return latchkey.WSEvents{
		OnConnecting:   func(e latchkey.ConnectingEvent) { r.add(fmt.Sprintf("connecting %d", e.Code)) },
		OnConnected:    func(latchkey.ConnectedEvent) { r.add("connected") },
		OnDisconnected: func(e latchkey.DisconnectedEvent) { r.add(fmt.Sprintf("disconnected %d", e.Code)) },
		OnError: func(err error) {
			if errors.Is(err, latchkey.ErrReauthRequired) {
				r.add("reauth")
			} else {
				r.add("error " + err.Error())
			}
		},
	}
}

func (r *recorder) entries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func count(entries []string, match func(string) bool) int {
	n := 0
	for _, entry := range entries {
		if match(entry) {
			n++
		}
	}
	return n
}

// connectOnce connects a realtime client on client's tokens until connected, then closes it; it returns
// the events and the token requests the server answered meanwhile.
func connectOnce(t *testing.T, target *server, client *latchkey.Client) ([]string, int) {
	t.Helper()
	events := &recorder{}
	ws := latchkey.NewWSClient(target.WSURL, "", latchkey.WithTokenSource(latchkey.TokenSourceFrom(client.Tokens)),
		latchkey.WithEvents(events.events()), latchkey.WithReconnectDelays(50*time.Millisecond, 200*time.Millisecond))
	before := target.tokenRequests(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := ws.Connect(ctx)
	ws.Close()
	if err != nil {
		t.Fatalf("%v (events %v)", err, events.entries())
	}
	return events.entries(), target.tokenRequests(t) - before
}

func scenarioRealtimeInvalidToken(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	client, _ := signedIn(t, target, password)
	tokens, _ := client.Tokens.Peek(ctx)
	refused := *tokens
	refused.AccessToken = "refused.by.gateway"
	refused.AccessExpiresAt = time.Now().Add(time.Hour)
	if err := client.Tokens.SetTokens(ctx, &refused); err != nil {
		t.Fatal(err)
	}
	log, tokenRequests := connectOnce(t, target, client)
	if tokenRequests != s.expectInt("token_requests") {
		t.Fatalf("sent %d token requests", tokenRequests)
	}
	code := s.expectInt("close_code")
	closes := count(log, func(e string) bool {
		return e == fmt.Sprintf("connecting %d", code) || e == fmt.Sprintf("disconnected %d", code)
	})
	reauth := count(log, func(e string) bool { return e == "reauth" }) > 0
	if closes != s.expectInt("closes") || count(log, func(e string) bool { return e == "connected" }) != s.expectInt("connects") || reauth != s.Expect["reauth_reported"].(bool) {
		t.Fatalf("events %v", log)
	}
	if current, _ := client.Tokens.Peek(ctx); current.AccessToken == "refused.by.gateway" {
		t.Fatal("the refused token was kept")
	}
}

func scenarioRealtimeSessionEnded(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	client, _ := signedIn(t, target, password)
	events := &recorder{}
	ws := latchkey.NewWSClient(target.WSURL, "", latchkey.WithTokenSource(latchkey.TokenSourceFrom(client.Tokens)),
		latchkey.WithEvents(events.events()), latchkey.WithReconnectDelays(50*time.Millisecond, 200*time.Millisecond))
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ws.Connect(connectCtx); err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	tokens, _ := client.Tokens.Peek(ctx)
	request, _ := http.NewRequest(http.MethodPost, target.URL+"/auth/v1/logout?scope=global", nil)
	request.Header.Set("apikey", target.AnonKey)
	request.Header.Set("Authorization", tokens.AuthorizationHeader())
	response, err := http.DefaultClient.Do(request)
	if err != nil || response.StatusCode != 204 {
		t.Fatalf("global logout: %v", err)
	}
	response.Body.Close()
	waitUntil(t, 10*time.Second, func() bool { return ws.State() == latchkey.StateDisconnected })
	time.Sleep(time.Duration(s.WaitMS) * time.Millisecond) // time enough for a reconnect, were one coming
	if ws.State() != s.expectString("state_after") {
		t.Fatalf("state %s after the session ended", ws.State())
	}
	want := []string{"connecting 0", "connected", "reauth", fmt.Sprintf("disconnected %d", s.expectInt("close_code"))}
	if log := events.entries(); strings.Join(log, ",") != strings.Join(want, ",") || !s.Expect["reauth_reported"].(bool) || s.expectInt("connects") != 1 {
		t.Fatalf("events %v, want %v", log, want)
	}
}

func scenarioRealtimeExpiredAtConnect(t *testing.T, s scenario, target *server, password string) {
	ctx := context.Background()
	client, _ := signedIn(t, target, password)
	stale, _ := client.Tokens.Peek(ctx)
	time.Sleep(time.Until(stale.AccessExpiresAt) + time.Second) // expired for the gateway
	behind := *stale
	behind.AccessExpiresAt = time.Now().Add(time.Hour) // a client clock running behind
	if err := client.Tokens.SetTokens(ctx, &behind); err != nil {
		t.Fatal(err)
	}
	log, tokenRequests := connectOnce(t, target, client)
	if tokenRequests != s.expectInt("token_requests") {
		t.Fatalf("sent %d token requests", tokenRequests)
	}
	want := []string{"connecting 0", fmt.Sprintf("connecting %d", s.expectInt("error_code")), "connected"}
	if len(log) < 3 || strings.Join(log[:3], ",") != strings.Join(want, ",") || s.expectInt("connects") != 1 || s.Expect["reauth_reported"].(bool) {
		t.Fatalf("events %v, want %v first", log, want)
	}
	if current, _ := client.Tokens.Peek(ctx); current.AccessToken == stale.AccessToken {
		t.Fatal("the expired token was kept")
	}
}
