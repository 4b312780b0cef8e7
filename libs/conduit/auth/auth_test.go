package auth

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
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
	h, err := p.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Check(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := p.Check(h, "wrong horse"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	if _, err := p.Check("not-a-hash", "x"); err == nil {
		t.Fatal("malformed hash accepted")
	}
	if _, err := p.Hash(string(make([]byte, 73))); err == nil {
		t.Fatal("password over 72 bytes hashed silently")
	}
}
