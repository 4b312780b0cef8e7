package validate

import (
	"testing"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// Emails refuse characters that are invisible or reorder the text around them, so that two
// addresses that look alike are the same. Before, U+202E, U+200B and U+FEFF were accepted.
func TestEmailRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, value string
		bad         bool
	}{
		{"plain", "jake@example.com", false},
		{"non-ASCII letters", "jöns@exämple.com", false},
		{"right-to-left override", "jake\u202e@example.com", true},
		{"zero-width space", "ja\u200bke@example.com", true},
		{"byte order mark", "\ufeffjake@example.com", true},
		{"left-to-right isolate", "jake@exa\u2066mple.com", true},
		{"tab", "jake\t@example.com", true},
		{"DEL", "jake\x7f@example.com", true},
		{"line separator", "jake\u2028@example.com", true},
		{"no-break space", "jake\u00a0@example.com", true},
		{"invalid UTF-8", "jake\xff@example.com", true},
	} {
		p := apperr.Problems{}
		Email(p, "email", c.value)
		if got := p.Err() != nil; got != c.bad {
			t.Errorf("%s (%q): refused %v, want %v", c.name, c.value, got, c.bad)
		}
	}
}
