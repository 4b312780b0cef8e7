// Package validate holds the small input checks the domain services share, each adding a
// RealWorld-style message ("can't be blank", "is too long ...") to an apperr.Problems under
// the field's API name.
package validate

import (
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// Required checks that value is not blank and at most maxLen characters (runes) long.
func Required(p apperr.Problems, field, value string, maxLen int) {
	if strings.TrimSpace(value) == "" {
		p.Add(field, "can't be blank")
		return
	}
	MaxLen(p, field, value, maxLen)
}

// MaxLen checks that value is at most maxLen characters (runes) long.
func MaxLen(p apperr.Problems, field, value string, maxLen int) {
	if !utf8.ValidString(value) {
		p.Add(field, "is not valid UTF-8")
		return
	}
	if strings.IndexByte(value, 0) >= 0 {
		// No database stores NUL in text; refuse it here rather than fail in the query.
		p.Add(field, "must not contain NUL characters")
		return
	}
	if n := utf8.RuneCountInString(value); n > maxLen {
		p.Add(field, "is too long (maximum is %d characters)", maxLen)
	}
}

// Email checks that value is a bare address (no display name), at most 254 characters.
func Email(p apperr.Problems, field, value string) {
	if strings.TrimSpace(value) == "" {
		p.Add(field, "can't be blank")
		return
	}
	if len(value) > 254 {
		p.Add(field, "is too long (maximum is 254 characters)")
		return
	}
	if strings.IndexByte(value, 0) >= 0 {
		p.Add(field, "is invalid")
		return
	}
	if invisible(value) {
		p.Add(field, "must not contain control, invisible or bidirectional-override characters")
		return
	}
	a, err := mail.ParseAddress(value)
	if err != nil || a.Address != value || !strings.Contains(value[strings.LastIndexByte(value, '@')+1:], ".") {
		p.Add(field, "is invalid")
	}
}

// URL checks that a non-empty value is an absolute http(s) URL of at most maxLen characters.
func URL(p apperr.Problems, field, value string, maxLen int) {
	if value == "" {
		return
	}
	if len(value) > maxLen {
		p.Add(field, "is too long (maximum is %d characters)", maxLen)
		return
	}
	if strings.IndexByte(value, 0) >= 0 {
		p.Add(field, "must be an http or https URL")
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Add(field, "must be an http or https URL")
	}
}

// invisible reports invalid UTF-8 or a character that prints as nothing or rearranges what is
// around it: controls (Cc), format characters (Cf: zero-width spaces and joiners, the BOM,
// the bidirectional overrides and isolates), line and paragraph separators and any space but
// ASCII's. Two addresses that look the same must be the same address.
func invisible(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) || (unicode.Is(unicode.Zs, r) && r != ' ') {
			return true
		}
	}
	return false
}
