// Package latchkey is the Go client of Latchkey: a goroutine-safe TokenManager that keeps one session's
// access token valid (one refresh for many concurrent callers, forced refresh only for a token that is
// still current, permanent versus transient failures), token stores (memory, and an owner-only file with
// atomic writes and a cross-process lock), the identity API (NewClient: Auth.Login, Auth.RefreshToken,
// Auth.Logout, Auth.User) and a realtime client for the gateway's Centrifugo JSON protocol
// (NewWSClient: Connect, RPC, Subscribe) that refreshes its token in-band before it expires.
//
// The only dependency is github.com/gorilla/websocket.
package latchkey
