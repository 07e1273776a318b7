package assistant

import (
	"context"
	"encoding/json"
	"errors"
)

// Message roles of a completion request.
const (
	MessageSystem    = "system"
	MessageUser      = "user"
	MessageAssistant = "assistant"
)

// Completer calls a chat model; assistant/openai implements it over any OpenAI-compatible API.
// Errors worth one more attempt are marked with Retryable.
type Completer interface {
	Complete(ctx context.Context, req CompletionRequest) (Completion, error)
}

// CompletionRequest is one chat completion call.
type CompletionRequest struct {
	Model       string // "" means the completer's default model
	Messages    []Message
	Tools       []Tool
	Temperature float64 // 0 leaves the provider's default
	MaxTokens   int     // 0 means no limit
	// Metadata describes the call for proxies and logs ("website", "session", "visitor");
	// completers may forward it as request headers. Never secrets or message text.
	Metadata map[string]string
}

// Message is one chat message.
type Message struct {
	Role    string // MessageSystem, MessageUser or MessageAssistant
	Content string
	Name    string // optional participant name
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema of the arguments object
}

// ToolCall is the model's call of a Tool.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON object
}

// Completion is the model's answer.
type Completion struct {
	Text         string
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage // tokens and model; CostUSD is filled by the assistant from its price table
}

// retryableError marks an error as transient.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// Retryable marks err as transient (rate limit, server error, timeout, connection failure): the
// same request may succeed if tried again. Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryableError{err}
}

// IsRetryable reports whether err was marked with Retryable or is a deadline.
func IsRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r) || errors.Is(err, context.DeadlineExceeded)
}
