// Command signalbridge runs an AI support assistant beside Crisp's no-code chatbot and lets that bot,
// the website and any other system switch it on and off per conversation.
//
//	signalbridge run     production: connects to Crisp (RTM and/or web hooks) with the YAML config
//	signalbridge demo    embedded default: a local Crisp sandbox, no account, no key
//	signalbridge check   validates the config and reaches Crisp and the model once each
//	signalbridge migrate copies a bbolt data file to Redis, for several replicas
//	signalbridge version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// Version is set at build time with -ldflags "-X main.Version=..."; when it is not, version reads
// the module version and VCS revision that the go command records in the binary.
var Version = "dev"

// cmdVersion prints the version.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "Print the version: the one linked in with -ldflags \"-X main.Version=...\" (make build),\n"+
		"else the module version and VCS revision recorded by go build.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, "signalbridge", versionString(Version, bi))
	return nil
}

// versionString is the linked-in version, or one built from the build information: the main
// module's version and the VCS revision (12 hex digits, "+dirty" for a modified tree) and time.
func versionString(linked string, bi *debug.BuildInfo) string {
	if linked != "" && linked != "dev" {
		return linked
	}
	if bi == nil {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	if strings.Contains(v, rev) || (len(rev) >= 12 && strings.Contains(v, rev[:12])) {
		return v // a pseudo-version already names the revision
	}
	if at != "" {
		return fmt.Sprintf("%s (%s, %s)", v, rev, at)
	}
	return fmt.Sprintf("%s (%s)", v, rev)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `signalbridge: an AI assistant beside Crisp's no-code chatbot, switched per conversation.

Usage:
  signalbridge run     [--config FILE]   run against Crisp (production)
  signalbridge demo    [--addr ADDR]     run the local Crisp sandbox demo (no account, no key)
  signalbridge check   [--config FILE]   validate the config and reach Crisp and the model once
  signalbridge migrate --from FILE --to redis://...   copy a bbolt data file to Redis
  signalbridge version                   print the version (and VCS revision)

Run "signalbridge COMMAND --help" for a command's flags. The config file may also be given with
SIGNALBRIDGE_CONFIG; secrets come from the environment (signalbridge run --help lists them).
`

// Main is the whole program behind os.Args, so tests can run it in-process.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr, getenv)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr, getenv)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-v":
		err = cmdVersion(args[1:], stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "signalbridge: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "signalbridge %s: %v\n", args[0], err)
		return 1
	}
}

var errUsage = errors.New("usage")

func newFlags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: signalbridge %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}

// newLogger builds the JSON (or, on a terminal, text) logger at the configured level.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
