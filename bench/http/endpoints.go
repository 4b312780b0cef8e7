package main

// endpoint is one benchmarked request.
type endpoint struct {
	name   string
	label  string
	signed bool // sends the seeded reader's token
	path   func(s *seeded) string
}

const (
	dialectPG     = "postgres"
	dialectSQLite = "sqlite"
)

var endpoints = []endpoint{
	{name: "article", label: "GET /api/articles/:slug (anonymous, cached)",
		path: func(s *seeded) string { return "/api/articles/" + s.slug }},
	{name: "profile", label: "GET /api/profiles/:username (signed in)", signed: true,
		path: func(s *seeded) string { return "/api/profiles/" + s.followed }},
	{name: "list", label: "GET /api/articles?limit=20 (signed in)", signed: true,
		path: func(*seeded) string { return "/api/articles?limit=20" }},
	{name: "feed", label: "GET /api/articles/feed?limit=20 (signed in)", signed: true,
		path: func(*seeded) string { return "/api/articles/feed?limit=20" }},
	{name: "user", label: "GET /api/user (signed in)", signed: true,
		path: func(*seeded) string { return "/api/user" }},
	{name: "list-anon", label: "GET /api/articles?limit=20 (anonymous)",
		path: func(*seeded) string { return "/api/articles?limit=20" }},
}

func defaultEndpoints() []string { return []string{"article", "profile", "list", "feed", "user"} }

func allEndpoints() []string {
	out := make([]string, len(endpoints))
	for i, e := range endpoints {
		out[i] = e.name
	}
	return out
}

func endpointByName(name string) (endpoint, bool) {
	for _, e := range endpoints {
		if e.name == name {
			return e, true
		}
	}
	return endpoint{}, false
}
