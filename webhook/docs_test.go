package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// snippet returns the verify function of the docs' code block in lang: from its first line starting
// with start to the first line after it that closes it (end, at column 0) or, for Python, to the
// first blank line followed by unindented text.
func snippet(t *testing.T, doc, lang, start string) string {
	t.Helper()
	fence := "```" + lang + "\n"
	i := strings.Index(doc, fence)
	if i < 0 {
		t.Fatalf("docs/webhooks.md has no %s block", lang)
	}
	block := doc[i+len(fence):]
	block = block[:strings.Index(block, "```")]
	j := strings.Index(block, start)
	if j < 0 {
		t.Fatalf("the %s block has no %q", lang, start)
	}
	lines := strings.Split(block[j:], "\n")
	var out []string
	for n, l := range lines {
		out = append(out, l)
		if n == 0 {
			continue
		}
		if lang == "js" && l == "}" {
			break
		}
		if lang == "python" && l == "" && n+1 < len(lines) && lines[n+1] != "" && !strings.HasPrefix(lines[n+1], " ") {
			break
		}
	}
	return strings.Join(out, "\n")
}

// TestDocSnippetsVerifyTheVector runs the Node.js and Python verification snippets of
// docs/webhooks.md against the test vector, a tampered body and a stale clock.
func TestDocSnippetsVerifyTheVector(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	if !strings.Contains(doc, vectorSig) || !strings.Contains(doc, vectorSecret) || !strings.Contains(doc, vectorBody) {
		t.Fatal("docs/webhooks.md does not show the test vector the tests use")
	}
	const want = "true false false"
	t.Run("node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node not installed")
		}
		prog := "const crypto = require(\"crypto\");\n" + snippet(t, doc, "js", "function verify") + `
const h = {"x-signalbridge-timestamp": "` + "1774710000" + `", "x-signalbridge-signature": "` + vectorSig + `"};
const body = Buffer.from(` + "`" + vectorBody + "`" + `);
Date.now = () => 1774710030 * 1000;
const ok = verify("` + vectorSecret + `", h, body);
const tampered = verify("` + vectorSecret + `", h, Buffer.concat([body, Buffer.from(" ")]));
Date.now = () => 1774710400 * 1000;
const stale = verify("` + vectorSecret + `", h, body);
console.log(ok, tampered, stale);
`
		out, err := exec.Command(node, "-e", prog).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Fatalf("node: %v\n%s\nwant %q", err, out, want)
		}
	})
	t.Run("python", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not installed")
		}
		prog := "import hashlib\nimport hmac\nimport time\n\n" + snippet(t, doc, "python", "def verify") + `
h = {"X-SignalBridge-Timestamp": "1774710000", "X-SignalBridge-Signature": "` + vectorSig + `"}
body = b'` + vectorBody + `'
time.time = lambda: 1774710030
ok = verify(b"` + vectorSecret + `", h, body)
tampered = verify(b"` + vectorSecret + `", h, body + b" ")
time.time = lambda: 1774710400
stale = verify(b"` + vectorSecret + `", h, body)
print(str(ok).lower(), str(tampered).lower(), str(stale).lower())
`
		out, err := exec.Command(py, "-c", prog).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Fatalf("python: %v\n%s\nwant %q", err, out, want)
		}
	})
}
