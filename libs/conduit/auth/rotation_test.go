package auth

import (
	"bytes"
	"testing"
	"time"
)

// A token signed with the previous key still verifies once that key is accepted as previous;
// new tokens are signed with the current key only, and an unknown key stays refused.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey := bytes.Repeat([]byte("o"), MinSecretLen)
	newKey := bytes.Repeat([]byte("n"), MinSecretLen)
	strangerKey := bytes.Repeat([]byte("x"), MinSecretLen)
	issue := func(key []byte) string {
		tk, err := NewTokens(key, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := tk.Issue(7)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	oldToken, strangerToken := issue(oldKey), issue(strangerKey)

	current, err := NewTokens(newKey, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := current.Verify(oldToken); err == nil {
		t.Fatal("old token verified before its key was accepted")
	}
	if err := current.AcceptPrevious(oldKey); err != nil {
		t.Fatal(err)
	}
	if id, err := current.Verify(oldToken); err != nil || id != 7 {
		t.Fatalf("old token after rotation: %d, %v", id, err)
	}
	if _, err := current.Verify(strangerToken); err == nil {
		t.Fatal("a token of an unknown key verified")
	}
	fresh, err := current.Issue(8)
	if err != nil {
		t.Fatal(err)
	}
	oldOnly, _ := NewTokens(oldKey, time.Hour, nil)
	if _, err := oldOnly.Verify(fresh); err == nil {
		t.Fatal("a new token was signed with the previous key")
	}
	if err := current.AcceptPrevious([]byte("short")); err == nil {
		t.Fatal("a short previous key was accepted")
	}
}
