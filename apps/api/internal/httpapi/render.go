package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

// json writes v as the response body: through the pooled encoders when the app has them
// (one Write from a reused buffer, with Content-Length), else with gin's c.JSON. Both write
// the same bytes: encoding/json with HTML escaping.
func (h *handlers) json(c *gin.Context, status int, v any) {
	if h.encoders == nil {
		c.JSON(status, v)
		return
	}
	c.Render(status, &pooledJSON{pool: h.encoders, v: v})
}

// encode returns v encoded as h.json writes it, in a slice of its own.
func (h *handlers) encode(v any) ([]byte, error) {
	if h.encoders == nil {
		return json.Marshal(v)
	}
	e := h.encoders.Get()
	defer e.Release()
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(e.Bytes()), nil
}

// pooledJSON is a gin render.Render that encodes into a pooled buffer.
type pooledJSON struct {
	pool *mempool.JSONPool
	v    any
}

var jsonContentType = []string{"application/json; charset=utf-8"}

func (r *pooledJSON) WriteContentType(w http.ResponseWriter) {
	w.Header()["Content-Type"] = jsonContentType
}

// Render writes nothing when encoding fails (gin records the error and the error middleware
// answers).
func (r *pooledJSON) Render(w http.ResponseWriter) error {
	e := r.pool.Get()
	defer e.Release()
	if err := e.Encode(r.v); err != nil {
		return err
	}
	r.WriteContentType(w)
	w.Header()["Content-Length"] = []string{strconv.Itoa(e.Len())}
	_, err := e.WriteTo(w)
	return err
}
