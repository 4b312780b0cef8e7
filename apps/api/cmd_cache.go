package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/startup"
)

// cacheClearPath is the admin listener's route that empties the running instance's cache.
const cacheClearPath = "/cache/clear"

// clearCacheHandler is served on the admin listener (POST /cache/clear): the only way to empty
// a running instance's in-memory cache from outside it.
func clearCacheHandler(c *cache.Cache, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Clear(r.Context()); err != nil {
			log.Error("cache clear", "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		log.Info("cache cleared", "driver", c.Driver(), "by", "admin listener")
		w.WriteHeader(http.StatusNoContent)
	})
}

// clearCache empties the configured cache: the Redis keys under Brisk's prefix directly, or
// the running instance's memory cache through its admin listener.
func clearCache(ctx context.Context, cfg *config.Config) (string, error) {
	if cfg.RedisURL != "" {
		c, err := cache.Open(ctx, cfg.RedisURL, cache.Options{DefaultTTL: cfg.Cache.TTL})
		if err != nil {
			return "", err
		}
		if err := errors.Join(c.Clear(ctx), c.Close()); err != nil {
			return "", err
		}
		return "cleared the Redis cache (Brisk's keys only)", nil
	}
	if cfg.AdminAddr == "" {
		return "", errors.New("cache clear: the memory cache lives in the running API and is reached through its admin listener, but ADMIN_ADDR is off")
	}
	host, port, err := net.SplitHostPort(cfg.AdminAddr)
	if err != nil || port == "0" {
		return "", fmt.Errorf("cache clear: ADMIN_ADDR %q names no port a running API could be reached on", cfg.AdminAddr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + cacheClearPath
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return "", fmt.Errorf("cache clear: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("cache clear: no running API answers on ADMIN_ADDR %s: %w", cfg.AdminAddr, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10)) // only for the message below
	_ = resp.Body.Close()                                   // read-only: nothing to lose
	if resp.StatusCode != http.StatusNoContent {
		return "", fmt.Errorf("cache clear: %s answered %s: %s", url, resp.Status, body)
	}
	return "cleared the memory cache of the API on " + cfg.AdminAddr, nil
}

func cacheCommand(cli *startup.CLI) *cobra.Command {
	cmd := startup.Group(&cobra.Command{
		Use:     "cache",
		Short:   "Manage the cache",
		Example: "  api cache clear",
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "clear",
		Short: "Empty the cache: Brisk's Redis keys, or the running API's memory cache",
		Long: "Empty the cache. With REDIS_URL it deletes the keys under Brisk's prefix (nothing else on\n" +
			"that Redis); with the memory cache it asks the running API, through its admin listener\n" +
			"(ADMIN_ADDR, POST " + cacheClearPath + "), to empty its own.",
		Example: "  api cache clear\n  ADMIN_ADDR=127.0.0.1:9091 api cache clear",
		Args:    startup.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cli.Config()
			if err != nil {
				return err
			}
			msg, err := clearCache(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	})
	return cmd
}
