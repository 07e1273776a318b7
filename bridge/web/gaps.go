package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/signalbridge/signalbridge/assistant"
)

// GapLister lists a website's knowledge gaps: questions the assistant refused or answered weakly,
// most frequent first. *assistant.Gaps implements it.
type GapLister interface {
	List(websiteID string, limit int) []assistant.Gap
}

// gaps serves GET /v1/websites/:website/gaps?limit=N (default 50, at most 500): the questions to
// write an article, or an article's "questions:", for.
func (s *Server) gaps(c *gin.Context) {
	limit := 50
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			c.JSON(http.StatusBadRequest, gin.H{"error": "limit must be 1..500"})
			return
		}
		limit = n
	}
	out := s.Gaps.List(c.Param("website"), limit)
	if out == nil {
		out = []assistant.Gap{}
	}
	c.JSON(http.StatusOK, gin.H{"website": c.Param("website"), "gaps": out})
}
