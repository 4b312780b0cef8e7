package observe

import (
	"slices"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
)

// Middleware returns the gin handlers to install before the routes: otelgin's server span
// (named after the route template) and http.server.request.* metrics labelled with
// http.route, then the recorder behind /debug/perf, which counts 5xx answers as errors.
// Requests to skipPaths (health probes) are neither traced, measured nor counted: a prober
// every few seconds would otherwise fill the traces and flatten the latency figures.
func (t *Telemetry) Middleware(skipPaths ...string) []gin.HandlerFunc {
	skip := func(c *gin.Context) bool { return slices.Contains(skipPaths, c.Request.URL.Path) }
	return []gin.HandlerFunc{
		otelgin.Middleware(t.opts.Service,
			otelgin.WithTracerProvider(t.tracer),
			otelgin.WithMeterProvider(t.mp),
			otelgin.WithGinFilter(func(c *gin.Context) bool { return !skip(c) }),
		),
		func(c *gin.Context) {
			if skip(c) {
				c.Next()
				return
			}
			start := t.now()
			c.Next()
			t.window.Observe(t.now().Sub(start), c.Writer.Status() >= 500)
		},
	}
}
