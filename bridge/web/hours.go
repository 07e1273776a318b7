package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/signalbridge/signalbridge/bridge"
)

// HoursController is implemented by controllers that know websites' support hours
// (*bridge.Bridge). Without it the hours routes answer 404.
type HoursController interface {
	Hours(websiteID string) (bridge.HoursStatus, error)
	ForceClosed(websiteID string, on bool) (bridge.HoursStatus, error)
}

// hoursRoutes adds GET /hours/:website (public, for the website snippet: support hours are no
// secret) and, with the admin token, GET and POST /v1/websites/:website/hours (the POST body
// {"forced_closed": true} switches the website closed whatever its schedule, the demo's switch).
func (s *Server) hoursRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	r.GET("/hours/:website", func(c *gin.Context) {
		c.Header("Access-Control-Allow-Origin", "*")
		c.Header("Cache-Control", "no-store")
		s.hoursAnswer(c, func(h HoursController) (bridge.HoursStatus, error) { return h.Hours(c.Param("website")) })
	})
	v1.GET("/websites/:website/hours", s.auth(), func(c *gin.Context) {
		s.hoursAnswer(c, func(h HoursController) (bridge.HoursStatus, error) { return h.Hours(c.Param("website")) })
	})
	v1.POST("/websites/:website/hours", s.auth(), func(c *gin.Context) {
		var req struct {
			ForcedClosed *bool `json:"forced_closed"`
		}
		if err := json.NewDecoder(io.LimitReader(c.Request.Body, 4<<10)).Decode(&req); err != nil || req.ForcedClosed == nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": `body must be JSON: {"forced_closed": true|false}`})
			return
		}
		s.hoursAnswer(c, func(h HoursController) (bridge.HoursStatus, error) {
			return h.ForceClosed(c.Param("website"), *req.ForcedClosed)
		})
	})
}

func (s *Server) hoursAnswer(c *gin.Context, get func(HoursController) (bridge.HoursStatus, error)) {
	h, ok := s.Bridge.(HoursController)
	if !ok {
		c.JSON(http.StatusNotFound, gin.H{"error": "no support hours configured"})
		return
	}
	st, err := get(h)
	if errors.Is(err, bridge.ErrNoHours) {
		c.JSON(http.StatusNotFound, gin.H{"error": "no support hours configured for this website"})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}
