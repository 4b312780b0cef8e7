package auth

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords with bcrypt at Cost (bcrypt.DefaultCost when 0).
// Tests and seeding use bcrypt.MinCost: the cost is stored in each hash, so hashes made at
// any cost keep verifying.
type Passwords struct {
	Cost int
}

// Hash returns the bcrypt hash of password. Passwords over bcrypt's 72-byte limit are an
// error rather than silently truncated.
func (p Passwords) Hash(password string) (string, error) {
	cost := p.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// Check reports whether password matches hash. A malformed hash is an error; a wrong
// password is (false, nil).
func (p Passwords) Check(hash, password string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("auth: check password: %w", err)
	}
}
