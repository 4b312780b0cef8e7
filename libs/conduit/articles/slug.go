package articles

import (
	"strings"
	"unicode"
)

// maxSlugBase bounds the readable part of a slug; a suffix may follow it.
const maxSlugBase = 80

// Slugify turns a title into the readable part of its slug: lower-case letters and digits of
// any script, runs of anything else collapsed to one '-'. A title with no letters or digits
// gets "article", so the slug is never empty.
func Slugify(title string) string {
	var b strings.Builder
	n := 0
	dash := false
	for _, r := range strings.ToLower(title) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			sep := dash && b.Len() > 0
			if sep && n+2 > maxSlugBase || n+1 > maxSlugBase {
				break
			}
			if sep {
				b.WriteByte('-')
				n++
			}
			dash = false
			b.WriteRune(r)
			n++
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "article"
	}
	return b.String()
}
