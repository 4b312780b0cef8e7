package mempool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Encoder is a pooled encoding/json encoder writing into its own buffer.
// Get one with GetEncoder, Encode, use Bytes (or WriteTo), then Release.
// It saves what json.Marshal cannot: the exact-size copy of every result,
// and the json.Encoder allocation of json.NewEncoder(w).Encode.
type Encoder struct {
	buf   bytes.Buffer
	enc   *json.Encoder
	owner *JSONPool // nil: the process-wide sync.Pool
}

// maxPooledEncoder: encoders whose buffer grew beyond this are dropped, so
// one huge document does not stay pinned in the pool.
const maxPooledEncoder = 1 << 20

var encoders = sync.Pool{New: func() any {
	e := &Encoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

// GetEncoder returns an empty pooled Encoder.
func GetEncoder() *Encoder { return encoders.Get().(*Encoder) }

// Encode appends the JSON encoding of v, like json.Marshal (HTML-escaped,
// no trailing newline). On error the buffer is left as it was.
func (e *Encoder) Encode(v any) error {
	n := e.buf.Len()
	if err := e.enc.Encode(v); err != nil {
		e.buf.Truncate(n)
		return fmt.Errorf("mempool: encode json: %w", err)
	}
	e.buf.Truncate(e.buf.Len() - 1) // json.Encoder adds '\n'
	return nil
}

// Bytes returns the encoded bytes; valid until Release or the next Encode.
func (e *Encoder) Bytes() []byte { return e.buf.Bytes() }

// Len returns the number of encoded bytes (for Content-Length).
func (e *Encoder) Len() int { return e.buf.Len() }

// WriteTo writes the encoded bytes to w in one Write.
func (e *Encoder) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(e.buf.Bytes())
	if err != nil {
		return int64(n), fmt.Errorf("mempool: write json: %w", err)
	}
	return int64(n), nil
}

// Reset empties the buffer, keeping its capacity.
func (e *Encoder) Reset() { e.buf.Reset() }

// Release returns e to the pool it came from; e must not be used afterwards.
func (e *Encoder) Release() {
	if e.owner != nil {
		e.owner.put(e)
		return
	}
	if e.buf.Cap() > maxPooledEncoder {
		return
	}
	e.buf.Reset()
	encoders.Put(e)
}

// EncodeJSON writes the JSON encoding of v to w in a single Write, using a
// pooled buffer. Nothing is written if encoding fails.
func EncodeJSON(w io.Writer, v any) error {
	e := GetEncoder()
	defer e.Release()
	if err := e.Encode(v); err != nil {
		return err
	}
	_, err := e.WriteTo(w)
	return err
}

// AppendJSON appends the JSON encoding of v to dst, for callers that keep
// the bytes (a cache) and can reuse dst.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	e := GetEncoder()
	defer e.Release()
	if err := e.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, e.buf.Bytes()...), nil
}
