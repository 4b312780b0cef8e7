package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit"
)

type profileEnvelope struct {
	Profile profileJSON `json:"profile"`
}

func (h *handlers) writeProfile(c *gin.Context, p *conduit.ProfileView, err error) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.json(c, http.StatusOK, profileEnvelope{Profile: profileOf(*p)})
}

func (h *handlers) getProfile(c *gin.Context) {
	p, err := h.profiles.Get(c.Request.Context(), c.Param("username"), viewer(c))
	h.writeProfile(c, p, err)
}

func (h *handlers) follow(c *gin.Context) {
	p, err := h.profiles.Follow(c.Request.Context(), viewer(c), c.Param("username"))
	h.writeProfile(c, p, err)
}

func (h *handlers) unfollow(c *gin.Context) {
	p, err := h.profiles.Unfollow(c.Request.Context(), viewer(c), c.Param("username"))
	h.writeProfile(c, p, err)
}
