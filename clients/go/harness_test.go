package latchkey_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scenarioFile is clients/scenarios/scenarios.json.
type scenarioFile struct {
	Password string `json:"password"`
	Servers  map[string]struct {
		JWTExpiry int `json:"jwt_expiry"`
	} `json:"servers"`
	Scenarios []scenario `json:"scenarios"`
}

type scenario struct {
	ID        string `json:"id"`
	Server    string `json:"server"`
	Callers   int    `json:"callers"`
	Resource  string `json:"resource"`
	Attempts  int    `json:"attempts"`
	Processes int    `json:"processes"`
	Reads     int    `json:"reads"`
	Rotations int    `json:"rotations"`
	WaitMS    int    `json:"wait_ms"`
	RPC       struct {
		Method string          `json:"method"`
		Data   json.RawMessage `json:"data"`
	} `json:"rpc"`
	Expect map[string]interface{} `json:"expect"`
}

func (s scenario) expectInt(name string) int {
	value, ok := s.Expect[name].(float64)
	if !ok {
		panic(fmt.Sprintf("scenario %s: expect.%s is not a number", s.ID, name))
	}
	return int(value)
}

func (s scenario) expectString(name string) string {
	value, ok := s.Expect[name].(string)
	if !ok {
		panic(fmt.Sprintf("scenario %s: expect.%s is not a string", s.ID, name))
	}
	return value
}

var scenariosDir = filepath.Join("..", "scenarios")

func loadScenarios(t *testing.T) scenarioFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(scenariosDir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file scenarioFile
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

// server is a live `latchkey serve` started by the shared launcher.
type server struct {
	URL            string `json:"url"`
	WSURL          string `json:"ws_url"`
	AnonKey        string `json:"anon_key"`
	ServiceRoleKey string `json:"service_role_key"`
	GatewayAPIKey  string `json:"gateway_api_key"`
	cmd            *exec.Cmd
	stdin          io.WriteCloser
}

var (
	serversMu sync.Mutex
	servers   = map[int]*server{}
	users     int64
)

// serverFor starts (once) the server of a profile of the scenario file.
func serverFor(t *testing.T, jwtExpiry int) *server {
	t.Helper()
	serversMu.Lock()
	defer serversMu.Unlock()
	if running := servers[jwtExpiry]; running != nil {
		return running
	}
	cmd := exec.Command("node", filepath.Join(scenariosDir, "launch-server.mjs"), "--jwt-expiry", strconv.Itoa(jwtExpiry))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("the server launcher exited before the server was ready: %v", err)
	}
	running := &server{cmd: cmd, stdin: stdin}
	if err := json.Unmarshal(line, running); err != nil {
		t.Fatal(err)
	}
	servers[jwtExpiry] = running
	return running
}

func stopServers() {
	serversMu.Lock()
	defer serversMu.Unlock()
	for _, running := range servers {
		running.stdin.Close()
		done := make(chan struct{})
		go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(running.cmd)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = running.cmd.Process.Kill()
		}
	}
}

type testUser struct {
	Email    string
	Password string
	ID       string
}

func (s *server) createUser(t *testing.T, email, password string) testUser {
	t.Helper()
	if email == "" {
		email = fmt.Sprintf("go-%d-%d-%d@example.com", time.Now().UnixNano(), os.Getpid(), atomic.AddInt64(&users, 1))
	}
	body, _ := json.Marshal(map[string]interface{}{"email": email, "password": password, "email_confirm": true})
	request, _ := http.NewRequest(http.MethodPost, s.URL+"/auth/v1/admin/users", bytes.NewReader(body))
	request.Header.Set("apikey", s.AnonKey)
	request.Header.Set("Authorization", "Bearer "+s.ServiceRoleKey)
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var created struct {
		ID string `json:"id"`
	}
	if response.StatusCode != 200 || json.NewDecoder(response.Body).Decode(&created) != nil {
		t.Fatalf("creating a user answered %d", response.StatusCode)
	}
	return testUser{Email: email, Password: password, ID: created.ID}
}

var tokenCount = regexp.MustCompile(`(?m)^latchkey_http_request_duration_seconds_count\{method="POST",route="/auth/v1/(?:oauth/)?token",status="\d+"\} (\d+)$`)

// tokenRequests is the number of token requests the server has answered (its own metrics).
func (s *server) tokenRequests(t *testing.T) int {
	t.Helper()
	response, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	text, _ := io.ReadAll(response.Body)
	total := 0
	for _, match := range tokenCount.FindAllStringSubmatch(string(text), -1) {
		count, _ := strconv.Atoi(match[1])
		total += count
	}
	return total
}

func (s *server) publish(t *testing.T, channel string, data interface{}) {
	t.Helper()
	body, _ := json.Marshal(map[string]interface{}{"channel": channel, "data": data})
	request, _ := http.NewRequest(http.MethodPost, s.URL+"/api/publish", bytes.NewReader(body))
	request.Header.Set("X-API-Key", s.GatewayAPIKey)
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	answer, _ := io.ReadAll(response.Body)
	if response.StatusCode != 200 || bytes.Contains(answer, []byte(`"error"`)) {
		t.Fatalf("publish answered %d %s", response.StatusCode, answer)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv("LATCHKEY_SCENARIO_CHILD"); mode != "" {
		os.Exit(runChild(mode))
	}
	code := m.Run()
	stopServers()
	os.Exit(code)
}
