package latchkey_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"strings"
	"testing"

	"latchkey"
)

// readmeExample is the README's Go example word for word, without its first two lines (the addresses,
// which are its parameters here).
func readmeExample(baseURL, wsURL string) {
	ctx := context.Background()
	client, err := latchkey.NewClient(baseURL, latchkey.WithStore(latchkey.NewFileTokenStore("~/.local/share/myapp/session.json")))
	if err != nil {
		log.Fatal(err)
	}
	session, err := client.Auth.Login(ctx, &latchkey.LoginRequest{Email: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", session.User.Email)

	var notes struct{ Notes []interface{} }
	// Bearer token; after a 401 one forced refresh and one retry.
	if err := client.DoJSON(ctx, "GET", "/api/v1/notes", nil, &notes); err != nil {
		log.Fatal(err)
	}
	fmt.Println("notes:", len(notes.Notes))

	tokens, err := client.Auth.RefreshToken(ctx) // refresh now
	if err != nil {
		log.Fatal(err)
	}
	accessToken := tokens.AccessToken

	// Realtime: with a token source the client refreshes in-band before the token expires.
	ws := latchkey.NewWSClient(wsURL, accessToken, latchkey.WithTokenSource(latchkey.TokenSourceFrom(client.Tokens)))
	if err := ws.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer ws.Close()
	subscription, err := ws.Subscribe("user:#"+session.User.ID, func(p latchkey.Publication) {
		fmt.Println("publication", string(p.Data))
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := subscription.Ready(ctx); err != nil {
		log.Fatal(err)
	}
	answer, err := ws.RPC(ctx, "echo", map[string]string{"hello": "world"}) // a method your backend serves
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rpc:", string(answer))

	if err := client.Auth.Logout(ctx, latchkey.LogoutLocal); err != nil {
		log.Fatal(err)
	}
}

// functionBody returns the lines of the body of the first `func <name>(` in source.
func functionBody(t *testing.T, source, name string) []string {
	t.Helper()
	start := regexp.MustCompile(`(?m)^func ` + name + `\(.*\{$`).FindStringIndex(source)
	if start == nil {
		t.Fatalf("no func %s", name)
	}
	rest := source[start[1]:]
	end := strings.Index(rest, "\n}\n")
	if end < 0 {
		t.Fatalf("func %s has no end", name)
	}
	return strings.Split(strings.Trim(rest[:end], "\n"), "\n")
}

func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := strings.SplitN(string(readme), "\n### Go\n", 2)
	if len(section) != 2 {
		t.Fatal("the README has no Go section")
	}
	block := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(section[1])
	if block == nil {
		t.Fatal("the README's Go section has no code")
	}
	documented := functionBody(t, block[1], "main")
	if !strings.HasPrefix(documented[0], "\tbaseURL := ") || !strings.HasPrefix(documented[1], "\twsURL := ") {
		t.Fatalf("the example should start with baseURL and wsURL, starts with %q", documented[:2])
	}
	self, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tested := functionBody(t, string(self), "readmeExample")
	if strings.Join(documented[2:], "\n") != strings.Join(tested, "\n") {
		t.Fatalf("the README's Go example differs from readmeExample:\n%s\n---\n%s", strings.Join(documented[2:], "\n"), strings.Join(tested, "\n"))
	}

	target := serverFor(t, loadScenarios(t).Servers["standard"].JWTExpiry)
	user := target.createUser(t, "ada@example.com", "correct horse battery")
	t.Setenv("HOME", t.TempDir())
	reader, writer, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = writer
	func() {
		defer func() { os.Stdout = stdout }()
		readmeExample(target.URL, target.WSURL)
	}()
	writer.Close()
	output, _ := io.ReadAll(reader)
	want := fmt.Sprintf("signed in as ada@example.com\nnotes: 0\nrpc: {\"method\":\"echo\",\"user\":%q,\"data\":{\"hello\":\"world\"}}\n", user.ID)
	if string(output) != want {
		t.Fatalf("the example printed:\n%s\nwant:\n%s", output, want)
	}
}
