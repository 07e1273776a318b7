package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestDemoSupportHoursSwitch drives the demo page's support-hours card in a real chromium: the
// card shows the hours as the website snippet reads them (SignalBridge.hours()), the switch forces
// the website closed through the admin API, and a handover while closed and with the operator away
// tells the visitor when the team is back and asks for an email.
func TestDemoSupportHoursSwitch(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	p := openDemoPage(t, browser, d)

	p.poll("hours card from the snippet", `!document.getElementById("hours-card").hidden &&
		/ · Europe\/Madrid$/.test(document.getElementById("hours-state").textContent)`)
	p.click("hours-closed")
	p.poll("forced closed", `document.getElementById("hours-closed").checked &&
		/^closed \(forced\), back /.test(document.getElementById("hours-state").textContent)`)
	st, err := d.app.bridge.Hours(DemoWebsiteID)
	if err != nil || st.Open || !st.Forced {
		t.Fatalf("bridge hours after the switch = %+v, %v; want forced closed", st, err)
	}

	p.click("operator-online")
	waitCond(t, "operator offline", func() bool { return !d.fake.Operators(DemoWebsiteID)[0].Online })
	p.visitorSays("Can I pause my subscription?")
	p.wait("answer with choices", `s.visitor.some(function (m) { return m.bot && m.choices.indexOf("sb:human") >= 0; })`)
	p.do("talk to a human", chromedp.Click(chromedp.CSS(`#visitor-messages button.choice[data-value="sb:human"]`)))
	v := p.wait("closed notice", `s.visitor.some(function (m) { return m.bot && m.text.indexOf("We're back ") >= 0; })`)
	p.poll("email field", `document.querySelector('#visitor-messages li[data-type="field"] form.field:not(.answered) input:not([disabled])')`)
	for _, m := range pageBots(v.Visitor) {
		if strings.Contains(m.Text, "online right now") {
			t.Errorf("the closed handover also said %q", m.Text)
		}
	}
	p.screenshot("support-hours-closed")

	p.click("hours-closed")
	p.poll("back to the schedule", `!document.getElementById("hours-closed").checked &&
		document.getElementById("hours-state").textContent.indexOf("(forced)") < 0`)
	if st, _ := d.app.bridge.Hours(DemoWebsiteID); st.Forced {
		t.Fatal("still forced closed after the switch went off")
	}
}
