package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/config"
)

// Any value of any setting either loads or fails with a *config.Error naming that variable:
// never a panic, never an error that does not say which setting is wrong.
func FuzzSettingValues(f *testing.F) {
	settings := config.Settings()
	for i, v := range []string{"", "0", "-1", "30", "1.5", "5m", "true", "nope", "\x00", "99999999999999999999", "http://x", "1h", ":8080", "sqlite://./x.db", "postgres://", "web"} {
		f.Add(uint(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint, value string) {
		s := settings[which%uint(len(settings))]
		if strings.HasPrefix(s.Env, "DATABASE_URL") && strings.HasPrefix(value, "postgres") {
			return // a PostgreSQL URL is parsed, not dialled: fine, but keep the fuzzer off the network-shaped inputs
		}
		for _, app := range []config.App{config.API, config.Worker} {
			if !s.Reads(app) {
				continue
			}
			_, _, err := config.Load(nil, func(k string) string {
				if k == s.Env {
					return value
				}
				return ""
			}, app)
			if err == nil {
				continue
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s=%q: error is not a *config.Error: %v", s.Env, value, err)
			}
			if ce.Env != s.Env && !strings.Contains(err.Error(), s.Env) {
				// A cross-check may name the other side of the pair (GOROUTINE_MIN/MAX_WORKERS).
				if !strings.Contains(ce.Allowed, s.Env) {
					t.Fatalf("%s=%q: error names %s: %v", s.Env, value, ce.Env, err)
				}
			}
		}
	})
}
