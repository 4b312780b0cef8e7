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

// requireJWTSecret refuses a database other than the embedded SQLite without JWT_SECRET or
// JWT_SECRET_FILE: instances that each generated their own key would refuse each other's
// tokens. The error is a *config.Error naming JWT_SECRET, so the process exits 2.
func requireJWTSecret(cfg *config.Config) error {
	if cfg.Auth.JWTSecret != "" || cfg.Auth.JWTSecretFile != "" || cfg.Database.Target.Dialect == "sqlite" {
		return nil
	}
	return &config.Error{
		Env: "JWT_SECRET", Key: "jwt.secret", Value: "",
		Allowed: "a key of at least 32 characters, the same on every instance (or JWT_SECRET_FILE naming a file holding one)",
		Reason:  "required when DATABASE_URL is not the embedded SQLite",
	}
}

// jwtSecret returns JWT_SECRET, or the key in JWT_SECRET_FILE, or on the embedded default a
// random key generated once and kept in var/jwt.key, so the embedded default needs no
// configuration and never ships a constant.
func jwtSecret(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	if err := requireJWTSecret(cfg); err != nil {
		return nil, err
	}
	if cfg.Auth.JWTSecret != "" {
		return []byte(cfg.Auth.JWTSecret), nil
	}
	if cfg.Auth.JWTSecretFile != "" {
		return jwtSecretFromFile(cfg.Auth.JWTSecretFile, log)
	}
	warnIfOthersRead(jwtSecretFile, log)
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
	if err := os.MkdirAll(filepath.Dir(jwtSecretFile), 0o750); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(jwtSecretFile), err)
	}
	if err := os.WriteFile(jwtSecretFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", jwtSecretFile, err)
	}
	log.Warn("JWT_SECRET not set: generated a signing key in "+jwtSecretFile+"; set JWT_SECRET (the same on every instance) in production", "file", jwtSecretFile)
	return key, nil
}

// jwtSecretFromFile reads JWT_SECRET_FILE. A key file that group or others may read is loaded
// with a warning rather than refused: orchestrators mount secrets 0644 or 0444 by default, and
// refusing would only teach people to paste the key into the environment instead.
func jwtSecretFromFile(path string, log *slog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &config.Error{Env: "JWT_SECRET_FILE", Key: "jwt.secret_file", Value: path,
			Allowed: "the path of a readable file of at least 32 characters", Reason: err.Error()}
	}
	key := strings.TrimSpace(string(b))
	if len(key) < 32 {
		return nil, &config.Error{Env: "JWT_SECRET_FILE", Key: "jwt.secret_file", Value: path,
			Allowed: "the path of a readable file of at least 32 characters",
			Reason:  fmt.Sprintf("the key in it has %d characters", len(key))}
	}
	warnIfOthersRead(path, log)
	return []byte(key), nil
}

// warnIfOthersRead logs a WARN naming a key file whose mode lets group or others read it.
func warnIfOthersRead(path string, log *slog.Logger) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("JWT signing key file is readable by group or others; chmod 600 it", "file", path, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
}

// previousKeys are JWT_PREVIOUS_SECRETS as keys.
func previousKeys(cfg *config.Config) [][]byte {
	var keys [][]byte
	for _, k := range cfg.Auth.PreviousSecrets {
		keys = append(keys, []byte(k))
	}
	return keys
}
