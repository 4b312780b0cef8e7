package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/conduit/services"
)

func TestTokensThatMustBeRefused(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	good := a.register("jake")
	parts := strings.Split(good, ".")

	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	future := time.Now().Add(time.Hour).Unix()
	// Claims of the good token, re-encoded unchanged, for tampering with the header only.
	claimsSeg := parts[1]

	// Flip one character of the signature.
	sig := []byte(parts[2])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}

	cases := map[string]string{
		"garbage":         "not-a-token",
		"bad signature":   parts[0] + "." + parts[1] + "." + string(sig),
		"other key":       sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-00"), jwt.MapClaims{"sub": "1", "exp": future}),
		"alg none":        base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + claimsSeg + ".",
		"alg none signed": sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "1", "exp": future}),
		"HS512":           sign(jwt.SigningMethodHS512, testSecret, jwt.MapClaims{"sub": "1", "exp": future}),
		"expired":         sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "1", "exp": time.Now().Add(-time.Minute).Unix()}),
		"no expiry":       sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "1"}),
		"bad subject":     sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "jake", "exp": future}),
		"unknown user":    sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "999999", "exp": future}),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			wantFieldError(t, a.do("GET", "/api/user", token, nil), http.StatusUnauthorized, "token")
		})
	}
	t.Run("missing", func(t *testing.T) {
		wantFieldError(t, a.do("GET", "/api/user", "", nil), http.StatusUnauthorized, "token")
		wantFieldError(t, a.do("GET", "/api/articles/feed", "", nil), http.StatusUnauthorized, "token")
	})
	t.Run("wrong scheme", func(t *testing.T) {
		r := a.do("GET", "/api/user", "", nil, "Authorization", "Basic "+good)
		wantFieldError(t, r, http.StatusUnauthorized, "token")
	})
	t.Run("bad token on a public route", func(t *testing.T) {
		wantFieldError(t, a.do("GET", "/api/articles", cases["expired"], nil), http.StatusUnauthorized, "token")
	})
	t.Run("bearer accepted", func(t *testing.T) {
		if r := a.do("GET", "/api/user", "", nil, "Authorization", "Bearer "+good); r.Code != http.StatusOK {
			t.Fatalf("status %d", r.Code)
		}
	})
}

func TestTokenExpiresWithTheInjectedClock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	a := newAPI(t, func(d *deps) { d.svc.Now = clock; d.svc.TokenTTL = time.Minute })
	token := a.register("jake")
	a.must(http.StatusOK, "GET", "/api/user", token, nil)
	now = now.Add(2 * time.Minute)
	wantFieldError(t, a.do("GET", "/api/user", token, nil), http.StatusUnauthorized, "token")
}

func TestServicesRefuseAShortSecret(t *testing.T) {
	t.Parallel()
	db := newAPI(t).db
	if _, err := services.New(services.Deps{DB: db, JWTSecret: []byte("short"), TokenTTL: time.Hour}); err == nil {
		t.Fatal("services.New accepted a 5-byte signing key")
	}
}

func TestNewRefusesNoServices(t *testing.T) {
	t.Parallel()
	if _, err := httpapi.New(httpapi.Deps{}); err == nil {
		t.Fatal("httpapi.New accepted no services")
	}
}
