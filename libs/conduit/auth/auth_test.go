package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestTokenRoundTripAndExpiry(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tok, err := NewTokens(secret, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s, err := tok.Issue(42)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := tok.Verify(s); err != nil || id != 42 {
		t.Fatalf("Verify = %d, %v", id, err)
	}
	later, _ := NewTokens(secret, time.Hour, func() time.Time { return now.Add(2 * time.Hour) })
	if _, err := later.Verify(s); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("expired token: %v", err)
	}
	other, _ := NewTokens([]byte("another-key-another-key-another-k"), time.Hour, func() time.Time { return now })
	if _, err := other.Verify(s); apperr.CodeOf(err) != apperr.Unauthorized {
		t.Fatalf("token under another key: %v", err)
	}
	if _, err := NewTokens(secret[:10], time.Hour, nil); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := NewTokens(secret, 0, nil); err == nil {
		t.Fatal("zero lifetime accepted")
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	p := Passwords{Cost: bcrypt.MinCost}
	h, err := p.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Check(t.Context(), h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := p.Check(t.Context(), h, "wrong horse"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	if _, err := p.Check(t.Context(), "not-a-hash", "x"); err == nil {
		t.Fatal("malformed hash accepted")
	}
	if _, err := p.Hash(t.Context(), string(make([]byte, 73))); err == nil {
		t.Fatal("password over 72 bytes hashed silently")
	}
}

// A full CPU pool refuses a hash at once with 503 and Retry-After instead of queueing it; a
// check (login) is taken before a queued hash (registration).
func TestPasswordsOnAFullPoolAnswerBusy(t *testing.T) {
	t.Parallel()
	p, err := pool.New(pool.Config{Name: "cpu-test", MinWorkers: 1, MaxWorkers: 1, QueueSize: 2, WhenFull: pool.FailFast})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	release := make(chan struct{})
	started := make(chan struct{})
	if err := p.Go(func() { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	// The one worker is busy: fill the normal queue, then one more hash is refused. The order
	// is recorded when each caller gets its answer, so a queued hash must take far longer than
	// a goroutine's wake-up on a loaded machine: at bcrypt's minimum cost (~1 ms) the check's
	// caller was sometimes woken after the first hash had finished.
	pw := Passwords{Cost: 10, Pool: p}
	var order []string
	var mu sync.Mutex
	done := make(chan struct{}, 3)
	for range 2 {
		go func() {
			_, err := pw.Hash(context.Background(), "password1")
			mu.Lock()
			order = append(order, "hash")
			mu.Unlock()
			if err != nil {
				t.Errorf("queued hash: %v", err)
			}
			done <- struct{}{}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Queued < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, err = pw.Hash(context.Background(), "password1")
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Unavailable || e.RetryAfter <= 0 {
		t.Fatalf("hash on a full pool: %v, want Unavailable with RetryAfter", err)
	}
	go func() {
		_, err := pw.Check(context.Background(), "$2a$04$invalidinvalidinvalidinvalidinvalidinvalidinvalidinval", "x")
		mu.Lock()
		order = append(order, "check")
		mu.Unlock()
		_ = err
		done <- struct{}{}
	}()
	for p.Stats().Queued < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 3 {
		<-done
	}
	if order[0] != "check" {
		t.Errorf("ran %v: the check (high priority) should run before the queued hashes", order)
	}
}
