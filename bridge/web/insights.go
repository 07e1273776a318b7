package web

import (
	"context"

	"github.com/gin-gonic/gin"
)

// InsightsSource is implemented by Owners that also serve the insights page.
type InsightsSource interface {
	Insights(ctx context.Context, websiteID string, days int) (any, error)
}

func (s *Server) insightsRoutes(r *gin.Engine, v1 *gin.RouterGroup) {}
