package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit"
)

type profileEnvelope struct {
	Profile profileJSON `json:"profile"`
}

func writeProfile(c *gin.Context, p *conduit.ProfileView, err error) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	c.JSON(http.StatusOK, profileEnvelope{Profile: profileOf(*p)})
}

func (h *handlers) getProfile(c *gin.Context) {
	p, err := h.profiles.Get(c.Request.Context(), c.Param("username"), viewer(c))
	writeProfile(c, p, err)
}

func (h *handlers) follow(c *gin.Context) {
	p, err := h.profiles.Follow(c.Request.Context(), viewer(c), c.Param("username"))
	writeProfile(c, p, err)
}

func (h *handlers) unfollow(c *gin.Context) {
	p, err := h.profiles.Unfollow(c.Request.Context(), viewer(c), c.Param("username"))
	writeProfile(c, p, err)
}
