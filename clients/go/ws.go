package latchkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway codes (Centrifugo protocol) the realtime client acts on.
const (
	// ReplyTokenExpired (error reply to connect or refresh): the client gets a new token and reconnects.
	ReplyTokenExpired = 109
	// CloseConnectionExpired: the connection outlived its token without refresh; reconnect with a new token.
	CloseConnectionExpired = 3005
	// CloseStateInvalidated: the token's grants changed; reconnect with a new token.
	CloseStateInvalidated = 3014
	// CloseInvalidToken: the token is invalid; a new token and a reconnect, a bounded number of times.
	CloseInvalidToken = 3500
	// CloseSessionEnded: the session ended (logout, ban, deletion…); the client stops: sign in again.
	CloseSessionEnded = 4501
	// ConnectingCalled, ConnectingTransportClosed and ConnectingNoPing are client-side connecting codes.
	ConnectingCalled          = 0
	ConnectingTransportClosed = 1
	ConnectingNoPing          = 2
	// DisconnectCalled and DisconnectUnauthorized are client-side disconnect codes.
	DisconnectCalled       = 0
	DisconnectUnauthorized = 1
)

// Realtime client states.
const (
	StateDisconnected = "disconnected"
	StateConnecting   = "connecting"
	StateConnected    = "connected"
)

// ErrUnauthorized, returned by a token source, means "no token will come": the client stops.
var ErrUnauthorized = errors.New("latchkey: unauthorized")

// TokenSource returns a token for the realtime connection.
type TokenSource func(ctx context.Context) (string, error)

// TokenSourceFrom is a TokenSource on a TokenManager. The first call returns the current token
// (refreshed if near expiry); later calls mean the gateway needs a new one, so they refresh unless the
// manager already moved past the token last handed out. An ended session becomes ErrUnauthorized.
func TokenSourceFrom(manager *TokenManager) TokenSource {
	var mu sync.Mutex
	last := ""
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		previous := last
		mu.Unlock()
		var tokens *TokenSet
		var err error
		if previous == "" {
			tokens, err = manager.Tokens(ctx)
		} else {
			tokens, err = manager.ForceRefresh(ctx, previous)
		}
		if errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrNotLoggedIn) {
			return "", fmt.Errorf("%w: %v", ErrUnauthorized, err)
		}
		if err != nil {
			return "", err
		}
		mu.Lock()
		last = tokens.AccessToken
		mu.Unlock()
		return tokens.AccessToken, nil
	}
}

// ConnectingEvent, ConnectedEvent and DisconnectedEvent describe state changes.
type ConnectingEvent struct {
	Code   int
	Reason string
}
type ConnectedEvent struct {
	Client  string
	Version string
}
type DisconnectedEvent struct {
	Code   int
	Reason string
}

// WSEvents receives the client's events (nil fields are skipped). Handlers run on the client's
// goroutines: keep them short.
type WSEvents struct {
	OnConnecting   func(ConnectingEvent)
	OnConnected    func(ConnectedEvent)
	OnDisconnected func(DisconnectedEvent)
	OnError        func(error)
}

// Publication is a message published into a subscribed channel.
type Publication struct {
	Channel string
	Data    json.RawMessage
	Offset  uint64
}

// WSOption configures NewWSClient.
type WSOption func(*WSClient)

// WithTokenSource renews the token: before the connection's token expires (in-band refresh), after
// error 109 and after an invalid-token close.
func WithTokenSource(source TokenSource) WSOption { return func(c *WSClient) { c.getToken = source } }

// WithEvents sets the event handlers.
func WithEvents(events WSEvents) WSOption { return func(c *WSClient) { c.events = events } }

// WithReconnectDelays sets the backoff bounds (defaults 500 ms and 20 s).
func WithReconnectDelays(min, max time.Duration) WSOption {
	return func(c *WSClient) { c.minDelay, c.maxDelay = min, max }
}

// WSClient is a connection to the realtime gateway speaking the Centrifugo JSON protocol, reconnecting
// with backoff and refreshing its token in-band. Safe for concurrent use.
type WSClient struct {
	url      string
	getToken TokenSource
	events   WSEvents
	name     string
	timeout  time.Duration
	minDelay time.Duration
	maxDelay time.Duration
	// MaxInvalidTokenReconnects bounds reconnects after invalid-token closes (default 2).
	maxInvalid int

	mu           sync.Mutex
	state        string
	changed      chan struct{}
	token        string
	conn         *websocket.Conn
	pending      map[uint32]chan wsReply
	nextID       uint32
	subs         map[string]*Subscription
	pingInterval time.Duration
	sendPong     bool
	connected    bool
	terminal     *DisconnectedEvent
	terminalErr  error
	ended        *DisconnectedEvent
	refresh      *time.Timer
	stop         chan struct{}
	done         chan struct{}
	writeMu      sync.Mutex
}

type wsReply struct {
	raw map[string]json.RawMessage
	err error
}

// NewWSClient returns a client for url (ws:// or wss://) authenticated with token. Without
// WithTokenSource the token cannot be renewed: the connection ends when it expires.
func NewWSClient(url, token string, options ...WSOption) *WSClient {
	c := &WSClient{
		url: url, token: token, name: "go", timeout: 10 * time.Second,
		minDelay: 500 * time.Millisecond, maxDelay: 20 * time.Second, maxInvalid: 2,
		state: StateDisconnected, changed: make(chan struct{}),
		pending: map[uint32]chan wsReply{}, subs: map[string]*Subscription{},
	}
	for _, option := range options {
		option(c)
	}
	return c
}

// State is disconnected, connecting or connected.
func (c *WSClient) State() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Connect starts connecting (and reconnecting) in the background and waits until connected. It returns
// an error when the client stopped instead (the token was refused, the session ended…) or ctx ended; in
// the second case the client keeps trying until Close.
func (c *WSClient) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.done != nil {
		select {
		case <-c.done: // stopped by itself (session ended, token refused): start again
			c.done = nil
		default:
		}
	}
	if c.done == nil {
		c.stop, c.done = make(chan struct{}), make(chan struct{})
		c.terminal, c.terminalErr, c.ended = nil, nil, nil
		c.setStateLocked(StateConnecting)
		go c.run(c.stop, c.done)
	}
	c.mu.Unlock()
	return c.waitConnected(ctx)
}

func (c *WSClient) waitConnected(ctx context.Context) error {
	for {
		c.mu.Lock()
		state, changed, ended, endedErr := c.state, c.changed, c.ended, c.terminalErr
		c.mu.Unlock()
		switch {
		case state == StateConnected:
			return nil
		case state == StateDisconnected:
			if endedErr != nil {
				return &Error{Code: CodeRealtimeConnection, Message: "realtime connection stopped: " + endedErr.Error(), Err: endedErr}
			}
			if ended != nil {
				return newError(CodeRealtimeConnection, "realtime connection stopped (%d %s)", ended.Code, ended.Reason)
			}
			return newError(CodeRealtimeConnection, "not connected")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close closes the connection and stops reconnecting.
func (c *WSClient) Close() error {
	c.mu.Lock()
	stop, done := c.stop, c.done
	c.stop, c.done = nil, nil
	conn := c.conn
	was := c.state
	c.mu.Unlock()
	if stop == nil {
		return nil
	}
	close(stop)
	if conn != nil {
		c.closeConn(conn, websocket.CloseNormalClosure, "")
	}
	<-done
	if was != StateDisconnected {
		c.finish(&DisconnectedEvent{Code: DisconnectCalled, Reason: "disconnect called"}, nil)
	}
	return nil
}

// RPC calls method on the gateway and returns the result's data.
func (c *WSClient) RPC(ctx context.Context, method string, data interface{}) (json.RawMessage, error) {
	if data == nil {
		data = map[string]interface{}{}
	}
	result, err := c.command(ctx, "rpc", map[string]interface{}{"method": method, "data": data})
	if err != nil {
		return nil, err
	}
	return result["data"], nil
}

// Publish publishes data into channel (when the channel allows client publications).
func (c *WSClient) Publish(ctx context.Context, channel string, data interface{}) error {
	_, err := c.command(ctx, "publish", map[string]interface{}{"channel": channel, "data": data})
	return err
}

// Subscribe subscribes to channel now if connected, otherwise when the client connects, and after every
// reconnect. onPublication runs on the reader goroutine.
func (c *WSClient) Subscribe(channel string, onPublication func(Publication)) (*Subscription, error) {
	c.mu.Lock()
	if _, exists := c.subs[channel]; exists {
		c.mu.Unlock()
		return nil, fmt.Errorf("latchkey: already subscribed to %s", channel)
	}
	sub := &Subscription{client: c, Channel: channel, onPublication: onPublication, state: "subscribing", changed: make(chan struct{})}
	c.subs[channel] = sub
	conn := c.conn
	connected := c.state == StateConnected
	c.mu.Unlock()
	if connected {
		go sub.subscribe(conn)
	}
	return sub, nil
}

func (c *WSClient) command(ctx context.Context, key string, body interface{}) (map[string]json.RawMessage, error) {
	if err := c.waitConnected(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	return c.call(ctx, conn, key, body)
}

// call sends one command on conn and waits for its reply.
func (c *WSClient) call(ctx context.Context, conn *websocket.Conn, key string, body interface{}) (map[string]json.RawMessage, error) {
	if conn == nil {
		return nil, newError(CodeRealtimeConnection, "not connected")
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	reply := make(chan wsReply, 1)
	c.pending[id] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	frame, err := json.Marshal(map[string]interface{}{"id": id, key: body})
	if err != nil {
		return nil, err
	}
	if err := c.write(conn, frame); err != nil {
		return nil, &Error{Code: CodeRealtimeConnection, Message: "could not send: " + err.Error(), Err: err}
	}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	var answer wsReply
	select {
	case answer = <-reply:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, newError(CodeRealtimeConnection, "timed out waiting for the gateway's reply")
	}
	if answer.err != nil {
		return nil, answer.err
	}
	if raw, ok := answer.raw["error"]; ok {
		var failure struct {
			Code      int    `json:"code"`
			Message   string `json:"message"`
			Temporary bool   `json:"temporary"`
		}
		_ = json.Unmarshal(raw, &failure)
		return nil, &Error{Code: CodeRealtimeReply, Message: fmt.Sprintf("%d: %s", failure.Code, failure.Message), ReplyCode: failure.Code, Temporary: failure.Temporary}
	}
	var result map[string]json.RawMessage
	_ = json.Unmarshal(answer.raw[key], &result)
	if result == nil {
		result = map[string]json.RawMessage{}
	}
	return result, nil
}

func (c *WSClient) write(conn *websocket.Conn, frame []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return conn.WriteMessage(websocket.TextMessage, frame)
}

func (c *WSClient) closeConn(conn *websocket.Conn, code int, reason string) {
	c.writeMu.Lock()
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	_ = conn.Close()
}

// sessionEnd is how one connection ended.
type sessionEnd struct {
	code   int
	reason string
	stop   bool
	err    error
}

func (c *WSClient) run(stop, done chan struct{}) {
	defer close(done)
	code, reason := ConnectingCalled, "connect called"
	attempt, invalidCloses := 0, 0
	for {
		c.setState(StateConnecting)
		if c.events.OnConnecting != nil {
			c.events.OnConnecting(ConnectingEvent{Code: code, Reason: reason})
		}
		end := c.session(stop)
		select {
		case <-stop:
			return
		default:
		}
		c.mu.Lock()
		wasConnected := c.connected
		if c.terminal != nil {
			end = sessionEnd{code: c.terminal.Code, reason: c.terminal.Reason, stop: true, err: c.terminalErr}
		}
		c.mu.Unlock()
		code, reason = end.code, end.reason
		switch {
		case end.stop:
		case code == CloseSessionEnded:
			c.setToken("")
			if reason == "" {
				reason = "session ended"
			}
			end = sessionEnd{code: code, reason: reason, stop: true, err: &Error{Code: CodeReauthRequired, Message: "the gateway ended the session (" + reason + ")"}}
		case code == CloseInvalidToken:
			if c.getToken == nil || invalidCloses >= c.maxInvalid {
				end = sessionEnd{code: code, reason: reason, stop: true, err: &Error{Code: CodeReauthRequired, Message: fmt.Sprintf("the gateway rejected the token %d times in a row (%s)", invalidCloses+1, reason)}}
			} else {
				invalidCloses++
				c.setToken("")
				continue // at once, with a new token
			}
		case (code >= 3500 && code < 4000) || (code >= 4500 && code < 5000):
			end.stop = true
		}
		if end.stop {
			c.finish(&DisconnectedEvent{Code: end.code, Reason: end.reason}, end.err)
			return
		}
		if code == CloseConnectionExpired || code == CloseStateInvalidated || code == ReplyTokenExpired {
			c.setToken("")
		}
		if wasConnected {
			attempt, invalidCloses = 0, 0
		}
		if code == ReplyTokenExpired && attempt == 0 {
			attempt++
			continue // expired at connect: straight back with a new token
		}
		if end.err != nil && c.events.OnError != nil {
			c.events.OnError(end.err)
		}
		delay := c.minDelay << uint(attempt)
		if delay > c.maxDelay || delay <= 0 {
			delay = c.maxDelay
		}
		attempt++
		select {
		case <-time.After(delay/2 + time.Duration(rand.Int63n(int64(delay/2)+1))):
		case <-stop:
			return
		}
	}
}

// finish moves the client to disconnected and reports it (once).
func (c *WSClient) finish(event *DisconnectedEvent, err error) {
	c.mu.Lock()
	if c.state == StateDisconnected {
		c.mu.Unlock()
		return
	}
	c.ended, c.terminalErr = event, err
	c.setStateLocked(StateDisconnected)
	c.mu.Unlock()
	if err != nil && c.events.OnError != nil {
		c.events.OnError(err)
	}
	if c.events.OnDisconnected != nil {
		c.events.OnDisconnected(*event)
	}
}

func (c *WSClient) session(stop chan struct{}) sessionEnd {
	c.mu.Lock()
	c.connected, c.pingInterval, c.sendPong = false, 0, false
	token := c.token
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if token == "" && c.getToken != nil {
		var err error
		token, err = c.getToken(ctx)
		if errors.Is(err, ErrUnauthorized) {
			return sessionEnd{code: DisconnectUnauthorized, reason: "unauthorized", stop: true, err: &Error{Code: CodeReauthRequired, Message: err.Error(), Err: err}}
		}
		if err != nil {
			return sessionEnd{code: ConnectingTransportClosed, reason: "token unavailable", err: err}
		}
		c.setToken(token)
	}
	dialer := websocket.Dialer{HandshakeTimeout: c.timeout}
	conn, _, err := dialer.DialContext(ctx, c.url, nil)
	if err != nil {
		return sessionEnd{code: ConnectingTransportClosed, reason: "transport closed", err: err}
	}
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	closed := make(chan sessionEnd, 1)
	go func() { closed <- c.read(conn) }()
	defer func() {
		c.mu.Lock()
		c.conn = nil
		if c.refresh != nil {
			c.refresh.Stop()
			c.refresh = nil
		}
		for id, waiter := range c.pending {
			waiter <- wsReply{err: newError(CodeRealtimeConnection, "connection closed")}
			delete(c.pending, id)
		}
		for _, sub := range c.subs {
			sub.setStateLocked("subscribing")
		}
		c.mu.Unlock()
	}()

	connect := map[string]interface{}{"name": c.name}
	if token != "" {
		connect["token"] = token
	}
	type outcome struct {
		result map[string]json.RawMessage
		err    error
	}
	answered := make(chan outcome, 1)
	go func() {
		result, err := c.call(ctx, conn, "connect", connect)
		answered <- outcome{result, err}
	}()
	var reply outcome
	select {
	case reply = <-answered:
	case end := <-closed:
		return end
	}
	if reply.err != nil {
		c.closeConn(conn, websocket.CloseNormalClosure, "")
		<-closed
		var failure *Error
		switch {
		case errors.As(reply.err, &failure) && failure.ReplyCode == ReplyTokenExpired:
			return sessionEnd{code: ReplyTokenExpired, reason: "token expired"}
		case errors.As(reply.err, &failure) && failure.Code == CodeRealtimeReply && !failure.Temporary:
			return sessionEnd{code: failure.ReplyCode, reason: failure.Message, stop: true, err: failure}
		}
		return sessionEnd{code: ConnectingTransportClosed, reason: "transport closed", err: reply.err}
	}
	var result struct {
		Client  string `json:"client"`
		Version string `json:"version"`
		Expires bool   `json:"expires"`
		TTL     uint32 `json:"ttl"`
		Ping    uint32 `json:"ping"`
		Pong    bool   `json:"pong"`
	}
	raw, _ := json.Marshal(reply.result)
	_ = json.Unmarshal(raw, &result)
	c.mu.Lock()
	c.connected = true
	c.pingInterval = time.Duration(result.Ping) * time.Second
	c.sendPong = result.Pong
	subs := make([]*Subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	c.setStateLocked(StateConnected)
	c.mu.Unlock()
	if result.Expires {
		c.scheduleRefresh(conn, time.Duration(result.TTL)*time.Second)
	}
	if c.events.OnConnected != nil {
		c.events.OnConnected(ConnectedEvent{Client: result.Client, Version: result.Version})
	}
	for _, sub := range subs {
		go sub.subscribe(conn)
	}
	return <-closed
}

// read serves frames until conn closes and returns how it closed.
func (c *WSClient) read(conn *websocket.Conn) sessionEnd {
	for {
		c.mu.Lock()
		ping := c.pingInterval
		c.mu.Unlock()
		if ping > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(ping + 10*time.Second))
		} else {
			_ = conn.SetReadDeadline(time.Time{})
		}
		_, data, err := conn.ReadMessage()
		if err != nil {
			_ = conn.Close()
			var closeErr *websocket.CloseError
			var netErr net.Error
			switch {
			case errors.As(err, &closeErr):
				return sessionEnd{code: closeErr.Code, reason: closeErr.Text}
			case errors.As(err, &netErr) && netErr.Timeout():
				return sessionEnd{code: ConnectingNoPing, reason: "no ping"}
			}
			return sessionEnd{code: websocket.CloseAbnormalClosure, reason: "transport closed"}
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				c.dispatch(conn, line)
			}
		}
	}
}

func (c *WSClient) dispatch(conn *websocket.Conn, line []byte) {
	var reply map[string]json.RawMessage
	if json.Unmarshal(line, &reply) != nil {
		return
	}
	if len(reply) == 0 { // server ping
		c.mu.Lock()
		pong := c.sendPong
		c.mu.Unlock()
		if pong {
			_ = c.write(conn, []byte("{}"))
		}
		return
	}
	var id uint32
	_ = json.Unmarshal(reply["id"], &id)
	if id != 0 {
		c.mu.Lock()
		waiter := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if waiter != nil {
			waiter <- wsReply{raw: reply}
		}
		return
	}
	var push struct {
		Channel string `json:"channel"`
		Pub     *struct {
			Data   json.RawMessage `json:"data"`
			Offset uint64          `json:"offset"`
		} `json:"pub"`
		Unsubscribe *struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		} `json:"unsubscribe"`
	}
	if raw, ok := reply["push"]; !ok || json.Unmarshal(raw, &push) != nil {
		return
	}
	c.mu.Lock()
	sub := c.subs[push.Channel]
	c.mu.Unlock()
	if sub == nil {
		return
	}
	switch {
	case push.Pub != nil && sub.onPublication != nil:
		sub.onPublication(Publication{Channel: push.Channel, Data: push.Pub.Data, Offset: push.Pub.Offset})
	case push.Unsubscribe != nil:
		if push.Unsubscribe.Code >= 2500 {
			sub.setState("subscribing")
			go sub.subscribe(conn)
		} else {
			c.mu.Lock()
			delete(c.subs, push.Channel)
			c.mu.Unlock()
			sub.setState("unsubscribed")
		}
	}
}

// scheduleRefresh sends refresh with a new token before the connection's token expires: at 80 % of the
// TTL, at most 10 s early.
func (c *WSClient) scheduleRefresh(conn *websocket.Conn, ttl time.Duration) {
	early := ttl / 5
	if early > 10*time.Second {
		early = 10 * time.Second
	}
	c.mu.Lock()
	c.refresh = time.AfterFunc(ttl-early, func() { c.refreshToken(conn, 0) })
	c.mu.Unlock()
}

func (c *WSClient) refreshToken(conn *websocket.Conn, attempt int) {
	if c.getToken == nil || !c.current(conn) {
		return // nothing to refresh with: the gateway closes the connection at expiry
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout)
	defer cancel()
	token, err := c.getToken(ctx)
	if errors.Is(err, ErrUnauthorized) {
		c.mu.Lock()
		c.terminal = &DisconnectedEvent{Code: DisconnectUnauthorized, Reason: "unauthorized"}
		c.terminalErr = &Error{Code: CodeReauthRequired, Message: err.Error(), Err: err}
		c.mu.Unlock()
		c.closeConn(conn, websocket.CloseNormalClosure, "")
		return
	}
	var result map[string]json.RawMessage
	if err == nil {
		result, err = c.call(ctx, conn, "refresh", map[string]string{"token": token})
	}
	var failure *Error
	if err != nil && errors.As(err, &failure) && failure.Code == CodeRealtimeReply && !failure.Temporary {
		c.setToken("")
		c.closeConn(conn, CloseConnectionExpired, "refresh failed")
		return
	}
	if err != nil {
		if c.events.OnError != nil {
			c.events.OnError(err)
		}
		delay := c.minDelay << uint(attempt)
		if delay > c.maxDelay || delay <= 0 {
			delay = c.maxDelay
		}
		c.mu.Lock()
		if c.conn == conn {
			c.refresh = time.AfterFunc(delay, func() { c.refreshToken(conn, attempt+1) })
		}
		c.mu.Unlock()
		return
	}
	c.setToken(token)
	var expiry struct {
		Expires bool   `json:"expires"`
		TTL     uint32 `json:"ttl"`
	}
	raw, _ := json.Marshal(result)
	_ = json.Unmarshal(raw, &expiry)
	if expiry.Expires && c.current(conn) {
		c.scheduleRefresh(conn, time.Duration(expiry.TTL)*time.Second)
	}
}

func (c *WSClient) current(conn *websocket.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn == conn && c.state == StateConnected
}

func (c *WSClient) setToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

func (c *WSClient) setState(state string) {
	c.mu.Lock()
	c.setStateLocked(state)
	c.mu.Unlock()
}

func (c *WSClient) setStateLocked(state string) {
	c.state = state
	close(c.changed)
	c.changed = make(chan struct{})
}

// Subscription is a channel subscription of a WSClient, restored after reconnects.
type Subscription struct {
	Channel       string
	client        *WSClient
	onPublication func(Publication)
	state         string
	changed       chan struct{}
}

// State is subscribing, subscribed or unsubscribed.
func (s *Subscription) State() string {
	s.client.mu.Lock()
	defer s.client.mu.Unlock()
	return s.state
}

// Ready waits until subscribed.
func (s *Subscription) Ready(ctx context.Context) error {
	for {
		s.client.mu.Lock()
		state, changed := s.state, s.changed
		s.client.mu.Unlock()
		switch state {
		case "subscribed":
			return nil
		case "unsubscribed":
			return newError(CodeRealtimeConnection, "not subscribed to %s", s.Channel)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Unsubscribe ends the subscription.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	s.client.mu.Lock()
	delete(s.client.subs, s.Channel)
	conn := s.client.conn
	s.client.mu.Unlock()
	s.setState("unsubscribed")
	if conn == nil {
		return nil
	}
	_, err := s.client.call(ctx, conn, "unsubscribe", map[string]string{"channel": s.Channel})
	return err
}

func (s *Subscription) subscribe(conn *websocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), s.client.timeout)
	defer cancel()
	_, err := s.client.call(ctx, conn, "subscribe", map[string]string{"channel": s.Channel})
	var failure *Error
	switch {
	case err == nil:
		s.setState("subscribed")
	case errors.As(err, &failure) && failure.Code == CodeRealtimeReply && !failure.Temporary:
		s.client.mu.Lock()
		delete(s.client.subs, s.Channel)
		s.client.mu.Unlock()
		s.setState("unsubscribed")
		if s.client.events.OnError != nil {
			s.client.events.OnError(err)
		}
	}
}

func (s *Subscription) setState(state string) {
	s.client.mu.Lock()
	defer s.client.mu.Unlock()
	s.setStateLocked(state)
}

func (s *Subscription) setStateLocked(state string) {
	if s.state == state {
		return
	}
	s.state = state
	close(s.changed)
	s.changed = make(chan struct{})
}
