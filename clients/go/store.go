package latchkey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// TokenStore is where a session's tokens live. Load returns nil, nil when there is no session.
type TokenStore interface {
	Load(ctx context.Context) (*TokenSet, error)
	Save(ctx context.Context, tokens *TokenSet) error
	Clear(ctx context.Context) error
}

// LockingStore is a store shared between processes: the TokenManager reloads, refreshes and saves while
// holding its lock, so one process's rotation is adopted by the others instead of being repeated.
type LockingStore interface {
	TokenStore
	// Lock blocks until the lock is held (or ctx ends) and returns the function that releases it.
	Lock(ctx context.Context) (unlock func(), err error)
}

// MemoryTokenStore keeps the session in memory. The default store.
type MemoryTokenStore struct {
	mu     sync.Mutex
	tokens *TokenSet
}

// NewMemoryTokenStore returns a store holding initial (which may be nil).
func NewMemoryTokenStore(initial *TokenSet) *MemoryTokenStore {
	return &MemoryTokenStore{tokens: initial}
}

func (s *MemoryTokenStore) Load(context.Context) (*TokenSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		return nil, nil
	}
	copied := *s.tokens
	return &copied, nil
}

func (s *MemoryTokenStore) Save(_ context.Context, tokens *TokenSet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	copied := *tokens
	s.tokens = &copied
	return nil
}

func (s *MemoryTokenStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = nil
	return nil
}

// FileTokenStore keeps the session in a JSON file of mode 0600 inside a directory created with mode
// 0700, in the format the TypeScript and Python clients use.
//
//   - Writes are atomic: a temporary file (0600) is written, synced and renamed over the target, then
//     the directory is synced; a reader never sees half a file, even if the writer is killed.
//   - Lock is a cross-process lock: flock(2) on "<path>.lock", released by the kernel if its holder dies.
//   - A file that is not a session is moved aside to "<path>.corrupt-<time>".
type FileTokenStore struct {
	Path string
	// LockTimeout is how long Lock waits for another process. Default 30 s.
	LockTimeout time.Duration
}

// NewFileTokenStore returns a store for path ("~/" is expanded).
func NewFileTokenStore(path string) *FileTokenStore {
	if len(path) > 1 && path[:2] == "~/" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	absolute, err := filepath.Abs(path)
	if err == nil {
		path = absolute
	}
	return &FileTokenStore{Path: path, LockTimeout: 30 * time.Second}
}

func (s *FileTokenStore) Load(context.Context) (*TokenSet, error) {
	file, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if info, err := file.Stat(); err == nil && info.Mode().Perm()&0o077 != 0 {
		_ = file.Chmod(0o600)
	}
	var tokens TokenSet
	if err := json.NewDecoder(file).Decode(&tokens); err != nil {
		_ = os.Rename(s.Path, fmt.Sprintf("%s.corrupt-%d", s.Path, time.Now().UnixMilli()))
		return nil, nil
	}
	return &tokens, nil
}

func (s *FileTokenStore) Save(_ context.Context, tokens *TokenSet) error {
	directory := filepath.Dir(s.Path)
	if err := os.MkdirAll(directory, 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(tokens)
	if err != nil {
		return err
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	temporary := fmt.Sprintf("%s.%d.%s.tmp", s.Path, os.Getpid(), hex.EncodeToString(suffix))
	file, err := os.OpenFile(temporary, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(append(data, '\n'))
	if err == nil {
		err = file.Chmod(0o600)
	}
	if err == nil {
		err = file.Sync()
	}
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(temporary, s.Path)
	}
	if err != nil {
		_ = os.Remove(temporary)
		return err
	}
	if dir, err := os.Open(directory); err == nil {
		_ = dir.Sync() // not every file system can sync a directory; the rename is atomic anyway
		_ = dir.Close()
	}
	return nil
}

func (s *FileTokenStore) Clear(context.Context) error {
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Lock takes flock(2) on "<path>.lock", waiting up to LockTimeout (or until ctx ends).
func (s *FileTokenStore) Lock(ctx context.Context) (func(), error) {
	lockPath := s.Path + ".lock"
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o700); err != nil {
		return nil, err
	}
	file, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	timeout := s.LockTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR) {
			file.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			file.Close()
			return nil, newError(CodeStoreLockTimeout, "timed out after %s waiting for the lock %s", timeout, lockPath)
		}
		select {
		case <-ctx.Done():
			file.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
	return func() {
		_ = syscall.Flock(int(file.Fd()), syscall.LOCK_UN)
		_ = file.Close()
	}, nil
}
