package validate

import (
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		check func(apperr.Problems)
		bad   bool
	}{
		{"required ok", func(p apperr.Problems) { Required(p, "f", "x", 3) }, false},
		{"required blank", func(p apperr.Problems) { Required(p, "f", " \t", 3) }, true},
		{"required long", func(p apperr.Problems) { Required(p, "f", "abcd", 3) }, true},
		{"runes not bytes", func(p apperr.Problems) { MaxLen(p, "f", "äöü", 3) }, false},
		{"invalid utf8", func(p apperr.Problems) { MaxLen(p, "f", "\xff", 3) }, true},
		{"NUL", func(p apperr.Problems) { Required(p, "f", "a\x00b", 10) }, true},
		{"email NUL", func(p apperr.Problems) { Email(p, "f", "a\x00@example.com") }, true},
		{"url NUL", func(p apperr.Problems) { URL(p, "f", "https://x.io/\x00", 100) }, true},
		{"email ok", func(p apperr.Problems) { Email(p, "f", "jake@example.com") }, false},
		{"email no domain dot", func(p apperr.Problems) { Email(p, "f", "jake@localhost") }, true},
		{"email no at", func(p apperr.Problems) { Email(p, "f", "jake.example.com") }, true},
		{"email display name", func(p apperr.Problems) { Email(p, "f", "Jake <jake@example.com>") }, true},
		{"email too long", func(p apperr.Problems) { Email(p, "f", strings.Repeat("a", 250)+"@example.com") }, true},
		{"url empty", func(p apperr.Problems) { URL(p, "f", "", 10) }, false},
		{"url ok", func(p apperr.Problems) { URL(p, "f", "https://x.io/a.png", 100) }, false},
		{"url scheme", func(p apperr.Problems) { URL(p, "f", "ftp://x.io/a.png", 100) }, true},
		{"url relative", func(p apperr.Problems) { URL(p, "f", "/a.png", 100) }, true},
		{"url long", func(p apperr.Problems) { URL(p, "f", "https://x.io/"+strings.Repeat("a", 100), 100) }, true},
	} {
		p := apperr.Problems{}
		c.check(p)
		if bad := p.Err() != nil; bad != c.bad {
			t.Errorf("%s: problems %v, want bad=%v", c.name, p, c.bad)
		}
		if c.bad && len(p["f"]) == 0 {
			t.Errorf("%s: problem not filed under the field: %v", c.name, p)
		}
	}
}
