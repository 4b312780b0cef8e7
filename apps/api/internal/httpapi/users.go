package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit/users"
)

type userJSON struct {
	Email    string `json:"email"`
	Token    string `json:"token"`
	Username string `json:"username"`
	Bio      string `json:"bio"`
	Image    string `json:"image"`
}

type userEnvelope struct {
	User userJSON `json:"user"`
}

func (h *handlers) writeAccount(c *gin.Context, status int, a users.Account) {
	h.json(c, status, userEnvelope{User: userJSON(a)})
}

func (h *handlers) register(c *gin.Context) {
	var req struct {
		User struct {
			Username string `json:"username"`
			Email    string `json:"email"`
			Password string `json:"password"`
		} `json:"user"`
	}
	if err := decode(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	a, err := h.users.Register(c.Request.Context(), users.RegisterInput(req.User))
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.writeAccount(c, http.StatusCreated, a)
}

func (h *handlers) login(c *gin.Context) {
	var req struct {
		User struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		} `json:"user"`
	}
	if err := decode(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	keys := keysOf(c, req.User.Email)
	if !h.loginThrottle.admit(c, keys) {
		return
	}
	a, err := h.users.Login(c.Request.Context(), users.LoginInput(req.User))
	h.loginThrottle.record(c, keys, err)
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.writeAccount(c, http.StatusOK, a)
}

func (h *handlers) currentUser(c *gin.Context) {
	a, err := h.users.AccountOf(resolvedUser(c))
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.writeAccount(c, http.StatusOK, a)
}

func (h *handlers) updateUser(c *gin.Context) {
	var req struct {
		User struct {
			Email    *string `json:"email"`
			Username *string `json:"username"`
			Password *string `json:"password"`
			Bio      *string `json:"bio"`
			Image    *string `json:"image"`
		} `json:"user"`
	}
	if err := decode(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	a, err := h.users.Update(c.Request.Context(), viewer(c), users.UpdateInput(req.User))
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.writeAccount(c, http.StatusOK, a)
}
