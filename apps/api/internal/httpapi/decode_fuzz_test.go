package httpapi_test

import (
	"net/http"
	"testing"
)

// Whatever bytes a client sends as a body, the API answers with a status it promises for
// input (never a 5xx), and an error body that names a field.
func FuzzRequestDecoding(f *testing.F) {
	for _, s := range []string{
		`{"user":{"username":"jake","email":"jake@example.com","password":"password1"}}`,
		`{"user":{"username":1}}`, `{"user":null}`, `[]`, `{}`, `{"user":{}} {"user":{}}`, "", "\x00",
		`{"article":{"title":"t","description":"d","body":"b","tagList":["a",1]}}`,
		`{"user":{"email":"a\u202e@example.com","username":"x","password":"password1"}}`,
	} {
		f.Add("/api/users", s)
		f.Add("/api/articles", s)
	}
	a := newAPI(f)
	token := a.register("fuzzer")
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/api/users" && path != "/api/articles" {
			path = "/api/articles"
		}
		in := *a // the same API, reporting to this input's t
		in.t = t
		r := in.do("POST", path, token, body)
		switch r.Code {
		case http.StatusOK, http.StatusCreated:
			return
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge, http.StatusNotFound:
			if errs, ok := r.json(t)["errors"].(map[string]any); !ok || len(errs) == 0 {
				t.Fatalf("%d without an errors object: %s", r.Code, r.Body)
			}
		default:
			t.Fatalf("POST %s %q: status %d %s", path, body, r.Code, r.Body)
		}
	})
}
