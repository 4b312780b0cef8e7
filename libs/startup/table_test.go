package startup

import (
	"errors"
	"strings"
	"testing"
)

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestTableAlignsColumns(t *testing.T) {
	var b strings.Builder
	tb := NewTable(&b)
	tb.Row("KEY\tVALUE")
	tb.Row("%s\t%d", "a-long-key", 1)
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "KEY         VALUE\na-long-key  1\n"
	if b.String() != want {
		t.Fatalf("table:\n%q\nwant\n%q", b.String(), want)
	}
}

// A table whose output cannot be written makes the command fail, not print nothing and exit 0.
func TestTableReportsTheWriteError(t *testing.T) {
	broken := errors.New("broken pipe")
	tb := NewTable(failingWriter{broken})
	for range 100 {
		tb.Row("%s\t%s", strings.Repeat("x", 100), "y")
	}
	if err := tb.Flush(); !errors.Is(err, broken) {
		t.Fatalf("Flush = %v, want %v", err, broken)
	}
}
