package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestDemoBookingThroughAWebhook: `signalbridge demo -scenario booking` in a real chromium: the
// visitor gives a name and a day in the chatbox; the webhook block sends them, signed, to the demo's
// own booking system on loopback, whose replies drive the steps: Monday is full (the day is asked
// again), Tuesday is booked with a reference set in the session data.
func TestDemoBookingThroughAWebhook(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d, err := startDemo(demoOptions{addr: "127.0.0.1:0", data: filepath.Join(t.TempDir(), "signalbridge.db"),
		startMode: "auto", scenario: "booking", events: "both", getenv: func(string) string { return "" },
		log: testWriter{t}, logLevel: "warn"})
	if err != nil {
		t.Fatalf("start demo: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("close demo: %v", err)
		}
	})
	waitCond(t, "rtm connected", func() bool { return d.app.rtm != nil && d.app.rtm.Connected() && d.fake.RTMConnections() >= 1 })
	p := openDemoPage(t, browser, d)

	p.visitorSays("I'd like to book a table")
	p.poll("name field", `document.querySelector('#visitor-messages li[data-type="field"] form.field:not(.answered) input:not([disabled])')`)
	p.do("fill the name", chromedp.SendKeys(chromedp.CSS(`#visitor-messages li[data-type="field"] form.field input`), "Ana\r"))
	p.wait("day picker", `s.visitor.some(function (m) { return m.bot && m.choices.indexOf("mon") >= 0; })`)
	p.do("Monday", chromedp.Click(chromedp.CSS(`#visitor-messages button.choice[data-value="mon"]`)))
	p.wait("Monday is full, the day again", `s.visitor.some(function (m) { return m.bot && m.text.indexOf("Monday is fully booked") === 0; }) &&
		s.visitor.filter(function (m) { return m.bot && m.choices.indexOf("tue") >= 0; }).length === 2`)
	p.poll("the new picker's Tuesday", `document.querySelectorAll('#visitor-messages button.choice[data-value="tue"]:not([disabled])').length >= 1`)
	p.do("Tuesday", chromedp.Click(chromedp.CSS(`#visitor-messages li.msg:last-of-type button.choice[data-value="tue"]`)))
	p.wait("booked", `s.visitor.some(function (m) { return m.bot && m.text.indexOf("Booked for Tuesday, Ana. Your reference is B-") === 0; }) &&
		/^B-\d+$/.test(s.data.booking_ref || "")`)
	p.screenshot("booking")
}
