package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/brisk-go/brisk/libs/config"
)

// jwtSecretFile keeps the embedded default's signing key across restarts.
const jwtSecretFile = "var/jwt.key"

// jwtSecret returns JWT_SECRET, or on a setup without one a random key generated once and kept
// in var/jwt.key, so the embedded default needs no configuration and never ships a constant.
func jwtSecret(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.Auth.JWTSecret != "" {
		return []byte(cfg.Auth.JWTSecret), nil
	}
	if b, err := os.ReadFile(jwtSecretFile); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err == nil && len(key) >= 32 {
			return key, nil
		}
		return nil, fmt.Errorf("%s is not a hex key of at least 32 bytes: delete it or set JWT_SECRET", jwtSecretFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", jwtSecretFile, err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate JWT key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(jwtSecretFile), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(jwtSecretFile), err)
	}
	if err := os.WriteFile(jwtSecretFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", jwtSecretFile, err)
	}
	log.Warn("JWT_SECRET not set: generated a signing key in "+jwtSecretFile+"; set JWT_SECRET (the same on every instance) in production", "file", jwtSecretFile)
	return key, nil
}
