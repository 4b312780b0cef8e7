package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/spf13/cobra"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/apps/api/internal/server"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/startup"
)

// route is one row of `api routes`.
type route struct {
	Method, Path, Handler string
	Auth                  string // required, optional or none
}

var pathParam = regexp.MustCompile(`[:*][A-Za-z_]+`)

// routeTable lists the routes of the engine serve builds (httpapi.New plus the health routes),
// read off the real router: gin's Routes() gives method, path and handler; which auth
// middleware guards each route is read from the handler chain of a request routed to it.
// Nothing is served: the services are empty and the probe stops every request before them.
func routeTable() ([]route, error) {
	chains := map[string][]string{}
	probe := func(c *gin.Context) {
		chains[c.Request.Method+" "+c.FullPath()] = c.HandlerNames()
		c.AbortWithStatus(http.StatusNoContent)
	}
	engine, err := httpapi.New(httpapi.Deps{Services: &services.Set{}, Middleware: []gin.HandlerFunc{probe}})
	if err != nil {
		return nil, err
	}
	server.RegisterHealth(engine, func(context.Context) error { return nil })
	var rows []route
	for _, r := range engine.Routes() {
		path := pathParam.ReplaceAllString(r.Path, "x")
		engine.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.Method, path, nil))
		chain, ok := chains[r.Method+" "+r.Path]
		if !ok {
			return nil, fmt.Errorf("routes: %s %s: a request to %s did not reach it", r.Method, r.Path, path)
		}
		auth := "none"
		for _, h := range chain {
			switch {
			case strings.Contains(h, "requireUser"):
				auth = "required"
			case strings.Contains(h, "optionalUser"):
				auth = "optional"
			}
		}
		rows = append(rows, route{Method: r.Method, Path: r.Path, Handler: shortHandler(r.Handler), Auth: auth})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Path != rows[j].Path {
			return rows[i].Path < rows[j].Path
		}
		return rows[i].Method < rows[j].Method
	})
	return rows, nil
}

// shortHandler turns github.com/…/httpapi.(*handlers).register-fm into httpapi.register.
func shortHandler(name string) string {
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return strings.Replace(name, "(*handlers).", "", 1)
}

func routesCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "routes",
		Short:   "List the HTTP routes: method, path, handler and whether they need a login",
		Example: "  api routes\n  api routes | grep required",
		Args:    startup.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := routeTable()
			if err != nil {
				return err
			}
			t := startup.NewTable(cmd.OutOrStdout())
			t.Row("METHOD\tPATH\tHANDLER\tAUTH")
			for _, r := range rows {
				t.Row("%s\t%s\t%s\t%s", r.Method, r.Path, r.Handler, r.Auth)
			}
			return t.Flush()
		},
	}
}
