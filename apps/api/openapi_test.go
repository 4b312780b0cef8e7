package main

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
)

var docParam = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// The OpenAPI document and the router list the same routes: a route missing from the document
// fails, and so does a documented route the router does not serve.
func TestOpenAPIDocumentsExactlyTheRoutes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIYAML())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+docParam.ReplaceAllString(path, ":$1")] = true
		}
	}
	rows, err := routeTable()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range rows {
		served[r.Method+" "+r.Path] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("openapi.yaml documents routes the router does not serve: %v", extra)
	}
	if len(served) < 20 {
		t.Errorf("only %d routes served", len(served))
	}
}
