package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/redis"
)

// RedisConfig selects the shared Redis store instead of the bbolt file, for several replicas.
type RedisConfig struct {
	URL     string        `yaml:"url"`     // SIGNALBRIDGE_REDIS_URL: redis:// or rediss:// (secret when it holds a password)
	Prefix  string        `yaml:"prefix"`  // key prefix, so deployments can share a server (default "signalbridge:")
	Timeout time.Duration `yaml:"timeout"` // per command: connect, read, write (default 1s)
}

// validate names the problems of the redis block (none when it is unused).
func (r RedisConfig) validate() []error {
	if r.URL == "" {
		return nil
	}
	var errs []error
	u, err := url.Parse(r.URL)
	switch {
	case err != nil || u.Host == "":
		errs = append(errs, fmt.Errorf("redis.url: must be redis://[:password@]host:port/db or rediss://..., got %q", redactURL(r.URL)))
	case u.Scheme != "redis" && u.Scheme != "rediss":
		errs = append(errs, fmt.Errorf("redis.url: scheme must be redis or rediss, got %q", u.Scheme))
	}
	if r.Timeout < 0 {
		errs = append(errs, fmt.Errorf("redis.timeout: must be >= 0"))
	}
	return errs
}

// appStore is what the app needs from a store: the bridge's contract and Close.
type appStore interface {
	bridge.Store
	Close() error
}

// openStore opens the Redis store when redis.url is set, else the bbolt file; it returns the store
// and a description for the start-up log (without secrets).
func openStore(cfg Config, log *slog.Logger) (appStore, string, error) {
	log = log.With("component", "store")
	if cfg.Redis.URL != "" {
		s, err := redis.Open(cfg.Redis.URL, redis.Options{Prefix: cfg.Redis.Prefix, Timeout: cfg.Redis.Timeout, Logger: log})
		if err != nil {
			return nil, "", fmt.Errorf("open store %s: %w", redactURL(cfg.Redis.URL), err)
		}
		return s, redactURL(cfg.Redis.URL), nil
	}
	s, err := bolt.Open(cfg.Data, bolt.Options{Logger: log})
	if err != nil {
		return nil, "", fmt.Errorf("open store %s: %w", cfg.Data, err)
	}
	return s, cfg.Data, nil
}

// pingStore checks that the store answers, for /readyz: Redis has Ping; for bbolt a read will do.
func pingStore(ctx context.Context, s bridge.Store) error {
	if p, ok := s.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	_, err := s.Processed(ctx, "readyz")
	return err
}

// checkRedis is `check`'s line for the Redis store: it connects and pings once. ok is false with
// redis.url unset (nothing to check).
func checkRedis(cfg Config) (line string, ok bool, err error) {
	if cfg.Redis.URL == "" {
		return "", false, nil
	}
	s, err := redis.Open(cfg.Redis.URL, redis.Options{Prefix: cfg.Redis.Prefix, Timeout: cfg.Redis.Timeout})
	if err != nil {
		return "", true, fmt.Errorf("redis %s: %w", redactURL(cfg.Redis.URL), err)
	}
	defer s.Close()
	n, err := s.Count(context.Background())
	if err != nil {
		return "", true, fmt.Errorf("redis %s: %w", redactURL(cfg.Redis.URL), err)
	}
	return fmt.Sprintf("redis %s answers (prefix %q, %d conversations)", redactURL(cfg.Redis.URL), s.Prefix(), n), true, nil
}
