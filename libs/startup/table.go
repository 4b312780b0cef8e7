package startup

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Table writes the aligned, tab-separated tables of the commands (config, about, routes, jobs).
// It keeps the first write error, so a command can print its rows without checking each one
// and still fail when its output cannot be written (a closed pipe, a full disk): Flush
// returns that error, or the flush's own.
type Table struct {
	tw  *tabwriter.Writer
	err error
}

// NewTable returns a Table writing to w, columns two spaces apart.
func NewTable(w io.Writer) *Table {
	return &Table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

// Row writes one line, formatted as by fmt.Fprintf (cells separated by \t, no trailing
// newline needed). After a failed write it does nothing.
func (t *Table) Row(format string, a ...any) {
	if t.err != nil {
		return
	}
	_, t.err = fmt.Fprintf(t.tw, format+"\n", a...)
}

// Flush writes what is buffered and returns the first error of any Row or of the flush.
func (t *Table) Flush() error {
	if t.err != nil {
		return t.err
	}
	return t.tw.Flush()
}
