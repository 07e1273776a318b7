package scenario_test

import (
	"fmt"

	"github.com/signalbridge/signalbridge/assistant/scenario"
)

// show prints a step's kind and the field the bridge uses for it.
func show(s scenario.Step) {
	switch s.Kind {
	case scenario.StepSendPicker, scenario.StepSendField:
		fmt.Println(s.Kind, s.ID, s.Text)
	case scenario.StepSendText:
		fmt.Println(s.Kind, s.Text)
	case scenario.StepSetData:
		fmt.Println(s.Kind, s.Data)
	case scenario.StepSetEmail, scenario.StepSetLanguage:
		fmt.Println(s.Kind, s.Value)
	default:
		fmt.Println(s.Kind)
	}
}

// The bridge keeps one Program per website and one Cursor per conversation; each event becomes an
// Input, and the returned steps are performed in order.
func ExampleProgram_Run() {
	p := scenario.Default([]string{"en", "es"})
	ctx := scenario.Context{Language: "es-ES"}

	cur, steps := p.Run(scenario.NotStarted, scenario.Begin{}, ctx)
	show(steps[0])

	// The visitor answers the field (message:updated with the field's value).
	cur, steps = p.Run(cur, scenario.FieldValue{FieldID: steps[0].ID, Value: "ana@example.com"}, ctx)
	for _, s := range steps {
		show(s)
	}

	// The visitor clicks a language button (message:updated with the picker, one choice selected).
	ctx.Email = "ana@example.com"
	cur, steps = p.Run(cur, scenario.PickerChoice{PickerID: "sb-step-ask_language", Value: "en"}, ctx)
	for _, s := range steps {
		show(s)
	}
	fmt.Println(cur == scenario.Done)
	// Output:
	// send_field sb-step-ask_email ¡Hola! Antes de empezar, ¿cuál es tu email? Lo usaremos para responderte si hace falta.
	// set_email ana@example.com
	// send_picker sb-step-ask_language ¿En qué idioma prefieres hablar?
	// set_language en
	// set_data map[language:en]
	// send_text Thanks! How can I help you?
	// start_assistant
	// true
}
