// Package httpapi is the HTTP face of the Conduit API: the gin engine, its middleware
// (recovery, CORS, body limit, authentication, error rendering) and thin handlers that decode
// a request, call a domain service, and encode the answer in the RealWorld shapes.
//
// Errors travel as *apperr.Error through c.Error; one middleware turns them into a status and
// the body {"errors": {"field": ["message"]}}. Only internal errors are logged, with their
// cause; the client sees a generic message.
package httpapi
