// Package redistest runs a real redis-server (Debian's package) for tests: on a free loopback port,
// with its own temporary directory and the persistence settings the README recommends (AOF,
// appendfsync everysec, no RDB snapshots). It can stop and restart the server on the same port and
// directory, to test persistence and reconnection. It never imports a Redis client: it speaks the
// few RESP commands it needs itself.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long Start waits for the server to answer PING.
const startTimeout = 15 * time.Second

// Server is one redis-server process owned by a test.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	args []string // extra arguments given to Start

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	log     *bytes.Buffer // the server's output, shown when it fails
	stopped bool          // SIGSTOP sent, not yet resumed
}

// Binary returns the path of redis-server. When it is missing the test is skipped, unless the
// environment variable CI is "true", where a missing server fails the test instead.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("redis-server not found (CI=true): install Debian's package: apt-get install -y redis-server")
	}
	tb.Skip("redis-server not installed (apt-get install -y redis-server, or make deps); skipping the Redis tests")
	return ""
}

// Start starts a redis-server on a free loopback port with a new temporary directory and stops it
// when the test ends. extra arguments are appended to the command line (e.g. "--maxmemory", "1mb").
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), dir: tb.TempDir(), args: extra}
	tb.Cleanup(func() { s.Stop() })
	// Another process may take the free port before redis-server binds it: try a few.
	var err error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			tb.Fatalf("redistest: free port: %v", err)
		}
		if err = s.start(); err == nil || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return s
}

// freePort asks the kernel for a free loopback port. Another process could take it before
// redis-server binds it; start then fails with a clear error.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns "redis://127.0.0.1:port/db".
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr(), db) }

// Dir returns the server's data directory (AOF files).
func (s *Server) Dir() string { return s.dir }

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("start: already running")
	}
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning",
	}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	// Its own process group, so a stray signal to the test's group does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.log = cmd, exited, &log
	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(s.Addr(), 200*time.Millisecond)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server exited at start-up (port %d): %s", s.port, strings.TrimSpace(log.String()))
		case <-time.After(20 * time.Millisecond): // poll interval, bounded by the deadline below
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on port %d did not answer PING within %s: %v", s.port, startTimeout, err)
		}
	}
}

// Stop stops the server gracefully (SIGTERM: it flushes the AOF) and waits for it. It is safe to
// call when the server is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGTERM)
}

// Kill stops the server with SIGKILL (no flush: what a crash of the server process loses) and waits.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGKILL)
}

func (s *Server) stopLocked(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	if s.stopped {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		s.stopped = false
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart stops the server gracefully and starts it again on the same port and directory: what
// was persisted is loaded back from the AOF.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// StartAgain starts a stopped (or killed) server again on the same port and directory.
func (s *Server) StartAgain() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: start again: %v", err)
	}
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing is answered, like a server
// stalled by a long fork or a full disk. Resume undoes it; Stop resumes it first.
func (s *Server) Pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && !s.stopped {
		_ = s.cmd.Process.Signal(syscall.SIGSTOP)
		s.stopped = true
	}
}

// Resume continues a paused server.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.stopped {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		s.stopped = false
	}
}

// Do sends one command and returns its reply as text (integers and simple strings as they are,
// bulk strings as their content, arrays as lines). It fails the test on an error reply.
func (s *Server) Do(args ...string) string {
	s.tb.Helper()
	out, err := do(s.Addr(), 5*time.Second, args...)
	if err != nil {
		s.tb.Fatalf("redistest: %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// InfoField returns one field of INFO section (for example "memory", "used_memory").
func (s *Server) InfoField(section, field string) string {
	s.tb.Helper()
	for line := range strings.SplitSeq(s.Do("INFO", section), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	s.tb.Fatalf("redistest: INFO %s has no field %s", section, field)
	return ""
}

func ping(addr string, timeout time.Duration) error {
	out, err := do(addr, timeout, "PING")
	if err != nil && strings.Contains(err.Error(), "NOAUTH") {
		return nil // a server with requirepass answers, just not to us
	}
	if err != nil {
		return err
	}
	if out != "PONG" {
		return fmt.Errorf("PING answered %q", out)
	}
	return nil
}

// do sends one RESP command on a new connection and reads one reply.
func do(addr string, timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad array length %q", line)
		}
		parts := make([]string, 0, max(n, 0))
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// AOFFiles lists the server's append-only files (Redis 7 keeps them in a subdirectory).
func (s *Server) AOFFiles() []string {
	files, _ := filepath.Glob(filepath.Join(s.dir, "appendonlydir", "*"))
	return files
}

// Ping sends PING to addr once and returns the reply, or the error (connection refused, timeout).
func Ping(addr string) (string, error) { return do(addr, time.Second, "PING") }

// FreePort returns a loopback port free at the time of the call (for a second listener such as
// --tls-port).
func FreePort(tb testing.TB) int {
	tb.Helper()
	p, err := freePort()
	if err != nil {
		tb.Fatalf("redistest: free port: %v", err)
	}
	return p
}
