package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/webhook"
)

// demoBookingScenario is the demo's "booking" guided steps (`signalbridge demo -scenario booking`):
// a table booking handed to the website's own booking system through a webhook block.
const demoBookingScenario = `start: name
languages: [en]
blocks:
  - {id: name, kind: field, text: "Let's book a table. What name is it for?", explain: "Your name", store: data:name, next: day}
  - id: day
    kind: picker
    text: "Which day?"
    store: data:day
    choices: [{value: mon, label: Monday}, {value: tue, label: Tuesday}, {value: wed, label: Wednesday}]
    next: book
  - id: book
    kind: webhook
    webhook: booking
    next: booked
    branches: {full: day}
    failed: sorry
  - {id: booked, kind: message, text: "You're all set. Anything else I can help with?", next: ai}
  - {id: sorry, kind: message, text: "Our booking system is not answering; a person will help you.", next: human}
  - {id: ai, kind: assistant}
  - {id: human, kind: handover}
`

// demoBooking is the demo website's own booking system: a signed-call receiver on loopback, as
// docs/webhooks.md tells receivers to be. Monday is always full.
type demoBooking struct {
	srv    *http.Server
	url    string
	secret string
	refs   atomic.Int64
}

func startDemoBooking() (*demoBooking, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo booking system: %w", err)
	}
	d := &demoBooking{url: "http://" + ln.Addr().String() + "/bookings", secret: randomHex(16)}
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 5 * time.Second}
	go d.srv.Serve(ln)
	return d, nil
}

func (d *demoBooking) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || webhook.Verify([]byte(d.secret), r.Header, body, time.Now(), 5*time.Minute) != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var call webhook.Request
	if err := json.Unmarshal(body, &call); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	days := map[string]string{"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday"}
	if call.Answers["day"] == "mon" {
		json.NewEncoder(w).Encode(webhook.Reply{Message: "Monday is fully booked, sorry. Another day?", Branch: "full"})
		return
	}
	ref := fmt.Sprintf("B-%d", 100+d.refs.Add(1))
	json.NewEncoder(w).Encode(webhook.Reply{
		Message: fmt.Sprintf("Booked for %s, %s. Your reference is %s.", days[call.Answers["day"]], call.Answers["name"], ref),
		Data:    map[string]string{"booking_ref": ref}})
}

func (d *demoBooking) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}

// useDemoBooking points a demo website at the booking scenario (written into dir) and system.
func useDemoBooking(w *WebsiteConfig, dir string, b *demoBooking) error {
	path := filepath.Join(dir, "booking.yaml")
	if err := os.WriteFile(path, []byte(demoBookingScenario), 0o600); err != nil {
		return fmt.Errorf("demo booking scenario: %w", err)
	}
	w.Scenario = path
	w.Webhooks = &WebhooksConfig{SecretEnv: "SIGNALBRIDGE_DEMO_BOOKING_SECRET", Deadline: time.Minute,
		Endpoints: map[string]string{"booking": b.url}, secret: b.secret}
	return nil
}
