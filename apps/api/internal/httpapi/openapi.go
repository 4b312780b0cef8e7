package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the API's OpenAPI document: the RealWorld specification plus what Brisk adds
// (the X-Request-ID header, 429 and 503 answers, the health and document routes). It is the
// source; the JSON form is derived from it once.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIYAML returns the OpenAPI document as served at /api/openapi.yaml.
func OpenAPIYAML() []byte { return openAPIYAML }

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("httpapi: openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// registerOpenAPI serves the document at /openapi.json and /openapi.yaml under r.
func registerOpenAPI(r gin.IRoutes) {
	r.GET("/openapi.yaml", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/yaml", openAPIYAML)
	})
	r.GET("/openapi.json", func(c *gin.Context) {
		body, err := openAPIJSON()
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.Data(http.StatusOK, "application/json", body)
	})
}
