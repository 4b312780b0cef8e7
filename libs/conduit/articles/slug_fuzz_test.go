package articles

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Slugify of any title is a non-empty, valid, URL-safe slug of at most maxSlugBase runes:
// lower-case letters, digits and marks, single dashes between runs, none at either end; and
// slugifying a slug changes nothing.
func FuzzSlugify(f *testing.F) {
	for _, s := range []string{"How to train your dragon", "", "---", "Ünïcödé — ἀρχή", "a\u202eb", strings.Repeat("word ", 40), "\xff\xfe", "日本語のタイトル"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		s := Slugify(title)
		if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxSlugBase {
			t.Fatalf("Slugify(%q) = %q", title, s)
		}
		if strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("Slugify(%q) = %q: stray dashes", title, s)
		}
		for _, r := range s {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
				t.Fatalf("Slugify(%q) = %q: holds %q", title, s, r)
			}
		}
		if again := Slugify(s); again != s {
			t.Fatalf("Slugify not stable: %q -> %q -> %q", title, s, again)
		}
	})
}
