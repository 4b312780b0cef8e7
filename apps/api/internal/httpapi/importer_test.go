package httpapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/brisk-go/brisk/libs/conduit/importer"
)

// An article that comes in through the worker's bulk import is stored exactly as the same
// article posted to the API: one slug function, one tag rule, one set of limits.
func TestImportedArticleEqualsThePostedOne(t *testing.T) {
	t.Parallel()
	article := map[string]any{
		"title":       "  Ça déjà vu: Ünïcode — and  a very long title that goes on and on past the eighty characters a slug may keep  ",
		"description": "same rules either way",
		"body":        "body",
		"tagList":     []string{" Go ", "go", "Databases", "Go"},
	}
	posted := newAPI(t)
	token := posted.register("jake")
	got := posted.must(http.StatusCreated, "POST", "/api/articles", token, map[string]any{"article": article})
	viaAPI := got["article"].(map[string]any)

	imported := newAPI(t)
	imported.register("jake")
	line := map[string]any{"author": "jake"}
	for k, v := range article {
		line[k] = v
	}
	raw, err := json.Marshal(line)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := importer.Run(t.Context(), strings.NewReader(string(raw)+"\n"), importer.Options{DB: imported.db})
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	slug := viaAPI["slug"].(string)
	viaImport := imported.must(http.StatusOK, "GET", "/api/articles/"+slug, "", nil)["article"].(map[string]any)
	for _, field := range []string{"slug", "title", "description", "body", "tagList"} {
		if !reflect.DeepEqual(viaAPI[field], viaImport[field]) {
			t.Errorf("%s: API stored %#v, the import stored %#v", field, viaAPI[field], viaImport[field])
		}
	}
	if utf8.RuneCountInString(slug) > 80 || strings.ContainsAny(slug, " :—") {
		t.Errorf("slug %q does not follow the slug rule", slug)
	}
}

// The import refuses what the API refuses, with the API's message.
func TestImportRefusesWhatTheAPIRefuses(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.register("jake")
	long := strings.Repeat("x", 41)
	var reasons []string
	rep, err := importer.Run(t.Context(), strings.NewReader(`{"author":"jake","title":"t","description":"d","body":"b","tagList":["`+long+`"]}`+"\n"+
		`{"author":"jake","title":"   ","description":"d","body":"b"}`+"\n"), importer.Options{
		DB: a.db, Invalid: func(_ int, reason string) { reasons = append(reasons, reason) },
	})
	if err != nil || rep.Invalid != 2 || rep.Imported != 0 {
		t.Fatalf("import: %+v, %v (%q)", rep, err, reasons)
	}
	token := a.register("bob")
	r := a.do("POST", "/api/articles", token, map[string]any{"article": map[string]any{"title": "t", "description": "d", "body": "b", "tagList": []string{long}}})
	joined := strings.Join(reasons, "\n")
	if r.Code != http.StatusUnprocessableEntity || !strings.Contains(joined, "tagList is too long") || !strings.Contains(joined, "title can't be blank") {
		t.Errorf("API answered %d %s; import said %q", r.Code, r.Body, reasons)
	}
}
