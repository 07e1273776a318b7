package hours

import "testing"

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		week map[string][]string
		lang string
		want string
	}{
		{map[string][]string{"mon-fri": {"09:00-18:00"}}, "en", "Monday to Friday 9:00–18:00"},
		{map[string][]string{"mon-fri": {"09:00-18:00"}}, "es-ES", "lunes a viernes de 9:00 a 18:00"},
		{map[string][]string{"mon-fri": {"09:00-18:00"}}, "fr", "lundi au vendredi de 9h00 à 18h00"},
		{map[string][]string{"mon-fri": {"09:00-18:00"}}, "ca", "dilluns a divendres de 9:00 a 18:00"},
		{map[string][]string{"mon-fri": {"09:00-18:00"}}, "de", "Monday to Friday 9:00–18:00"},
		{map[string][]string{"mon-thu": {"09:00-13:00", "15:00-18:00"}, "fri": {"09:00-14:00"}, "sat": {"10:00-12:00"}}, "en",
			"Monday to Thursday 9:00–13:00 and 15:00–18:00, Friday 9:00–14:00, Saturday 10:00–12:00"},
		{map[string][]string{"sat-sun": {"22:00-02:00"}}, "en", "Saturday and Sunday 22:00–2:00"},
		{map[string][]string{"daily": {"00:00-24:00"}}, "en", "Monday to Sunday 0:00–24:00"},
		{map[string][]string{"mon": {"09:00-12:00"}, "wed": {"09:00-12:00"}}, "en", "Monday 9:00–12:00, Wednesday 9:00–12:00"},
	} {
		s, err := New("Europe/Madrid", tc.week, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Describe(tc.lang); got != tc.want {
			t.Errorf("%v in %s = %q, want %q", tc.week, tc.lang, got, tc.want)
		}
	}
}
