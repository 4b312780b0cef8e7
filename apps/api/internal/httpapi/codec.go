package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// decode reads exactly one JSON value from the body into dst, classifying failures the way
// the API promises: 413 over the limit, 400 for anything that is not JSON, 422 naming the
// field whose value has the wrong type.
func decode(c *gin.Context, dst any) error {
	dec := json.NewDecoder(c.Request.Body)
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = extra
			if err == nil {
				err = errors.New("more than one JSON value")
			}
		}
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return apperr.Wrap(apperr.TooLarge, "body", fmt.Sprintf("is too large (maximum is %d bytes)", tooBig.Limit), err)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
		return apperr.Wrap(apperr.Invalid, field, "must be a "+jsonKind(typeErr.Type.Kind().String()), err)
	case errors.Is(err, io.EOF):
		return apperr.Wrap(apperr.Malformed, "body", "is empty", err)
	default:
		return apperr.Wrap(apperr.Malformed, "body", "is not valid JSON", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "bool":
		return "boolean"
	case "struct", "map", "ptr":
		return "object"
	default:
		return "number"
	}
}

// jsonTime renders instants as the RealWorld spec's ISO 8601 with milliseconds, always in UTC,
// always with a fraction (clients match on it).
type jsonTime time.Time

func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

type profileJSON struct {
	Username  string `json:"username"`
	Bio       string `json:"bio"`
	Image     string `json:"image"`
	Following bool   `json:"following"`
}

func profileOf(p conduit.ProfileView) profileJSON {
	return profileJSON{Username: p.Username, Bio: p.Bio, Image: p.Image, Following: p.Following}
}

type articleJSON struct {
	Slug           string      `json:"slug"`
	Title          string      `json:"title"`
	Description    string      `json:"description"`
	Body           *string     `json:"body,omitempty"`
	TagList        []string    `json:"tagList"`
	CreatedAt      jsonTime    `json:"createdAt"`
	UpdatedAt      jsonTime    `json:"updatedAt"`
	Favorited      bool        `json:"favorited"`
	FavoritesCount int         `json:"favoritesCount"`
	Author         profileJSON `json:"author"`
}

func articleOf(a *conduit.ArticleView, withBody bool) articleJSON {
	out := articleJSON{
		Slug: a.Slug, Title: a.Title, Description: a.Description, TagList: a.TagList,
		CreatedAt: jsonTime(a.CreatedAt), UpdatedAt: jsonTime(a.UpdatedAt),
		Favorited: a.Favorited, FavoritesCount: a.FavoritesCount, Author: profileOf(a.Author),
	}
	if out.TagList == nil {
		out.TagList = []string{}
	}
	if withBody {
		out.Body = &a.Body
	}
	return out
}

type commentJSON struct {
	ID        int64       `json:"id"`
	CreatedAt jsonTime    `json:"createdAt"`
	UpdatedAt jsonTime    `json:"updatedAt"`
	Body      string      `json:"body"`
	Author    profileJSON `json:"author"`
}

func commentOf(c *conduit.CommentView) commentJSON {
	return commentJSON{ID: c.ID, CreatedAt: jsonTime(c.CreatedAt), UpdatedAt: jsonTime(c.UpdatedAt), Body: c.Body, Author: profileOf(c.Author)}
}
