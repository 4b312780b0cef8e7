package articles

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSlugify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"How to train your dragon", "how-to-train-your-dragon"},
		{"  Hello,   World!  ", "hello-world"},
		{"C++ & Go: 2 languages", "c-go-2-languages"},
		{"snake_case/and.dots", "snake-case-and-dots"},
		{"Привет, мир!", "привет-мир"},
		{"日本語のタイトル", "日本語のタイトル"},
		{"Crème brûlée", "crème-brûlée"},
		{"🐉 dragons 🐉", "dragons"},
		{"!!!", "article"},
		{"", "article"},
	} {
		if got := Slugify(c.in); got != c.want {
			t.Errorf("Slugify(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := Slugify(strings.Repeat("word ", 100))
	if n := utf8.RuneCountInString(long); n > maxSlugBase || strings.HasSuffix(long, "-") {
		t.Errorf("long title slug has %d runes: %q", n, long)
	}
}
