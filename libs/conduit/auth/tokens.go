package auth

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// MinSecretLen is the shortest signing key accepted: HS256 wants at least its output size.
const MinSecretLen = 32

// Tokens issues and verifies access tokens with one signing key.
type Tokens struct {
	secret   []byte
	previous [][]byte // verify only: former keys during a rotation
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// NewTokens returns Tokens signing with secret; tokens expire ttl after issue. now is the
// clock (time.Now when nil), injected so tests can issue tokens that are already expired.
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: signing key has %d bytes, need at least %d", len(secret), MinSecretLen)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("auth: token lifetime must be positive, got %s", ttl)
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{
		secret: secret,
		ttl:    ttl,
		now:    now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(now),
		),
	}, nil
}

// AcceptPrevious lets tokens signed with any of keys (former signing keys) still verify; new
// tokens are signed with the current key only. Call it before serving.
func (t *Tokens) AcceptPrevious(keys ...[]byte) error {
	for i, k := range keys {
		if len(k) < MinSecretLen {
			return fmt.Errorf("auth: previous key %d has %d bytes, need at least %d", i+1, len(k), MinSecretLen)
		}
	}
	t.previous = keys
	return nil
}

func (t *Tokens) keys(*jwt.Token) (any, error) {
	if len(t.previous) == 0 {
		return t.secret, nil
	}
	set := jwt.VerificationKeySet{Keys: []jwt.VerificationKey{t.secret}}
	for _, k := range t.previous {
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// Issue returns a signed token for userID.
func (t *Tokens) Issue(userID int64) (string, error) {
	now := t.now()
	claims := jwt.RegisteredClaims{
		Subject:   strconv.FormatInt(userID, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// Verify returns the user id a valid token was issued for, or an Unauthorized *apperr.Error.
func (t *Tokens) Verify(token string) (int64, error) {
	var claims jwt.RegisteredClaims
	_, err := t.parser.ParseWithClaims(token, &claims, t.keys)
	if err != nil {
		msg := "is invalid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "has expired"
		}
		return 0, apperr.Wrap(apperr.Unauthorized, "token", msg, err)
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.Unauthorized, "token", "is invalid")
	}
	return id, nil
}
