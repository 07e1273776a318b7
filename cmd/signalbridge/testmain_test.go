package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// execMainEnv, set to 1 in a child process's environment, makes the test binary run Main with its
// arguments instead of the tests: a test can start real `signalbridge` processes without a build.
const execMainEnv = "SIGNALBRIDGE_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
