package observe

import (
	"net/http"
	"sync"
)

// adminRoutes are the app's own admin handlers. They have a lock of their own: the admin
// mux is built (Handler) while Start holds the Telemetry's.
type adminRoutes struct {
	mu   sync.Mutex
	list []adminRoute
}

type adminRoute struct {
	pattern string
	h       http.Handler
}

// AddAdminHandler serves h on the admin listener at pattern (a net/http ServeMux pattern such
// as "POST /cache/clear"): operations on the running process that must never be public (the
// admin listener is loopback by default). Add them before Start.
func (t *Telemetry) AddAdminHandler(pattern string, h http.Handler) {
	t.admin.mu.Lock()
	defer t.admin.mu.Unlock()
	t.admin.list = append(t.admin.list, adminRoute{pattern, h})
}

func (t *Telemetry) mountAdmin(mux *http.ServeMux) {
	t.admin.mu.Lock()
	defer t.admin.mu.Unlock()
	for _, r := range t.admin.list {
		mux.Handle(r.pattern, r.h)
	}
}
