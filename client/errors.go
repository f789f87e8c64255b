package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is a non-2xx answer from the controller.
type APIError struct {
	StatusCode int
	// Message is the controller's explanation (model.ErrorResponse.Message),
	// or the status text when the answer carried none.
	Message string
}

// Error is just the controller's message, so a command-line client can print
// it Docker's way: "Error response from daemon: <message>".
func (e *APIError) Error() string { return e.Message }

// newAPIError reads the Engine API's {"message": "..."} body. Answers that
// are not that shape (a proxy's HTML page, plain text) keep their text, so
// the user still sees what went wrong.
func newAPIError(status int, body []byte) *APIError {
	var er struct {
		Message *string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &er) == nil && er.Message != nil {
		msg = *er.Message
	} else {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(fmt.Sprintf("the controller answered %d %s", status, http.StatusText(status)))
	}
	return &APIError{StatusCode: status, Message: msg}
}

// IsNotFound says whether err is the controller answering 404 Not Found,
// e.g. for an unknown network.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsConflict says whether err is the controller answering 409 Conflict,
// e.g. for a network name already taken.
func IsConflict(err error) bool { return statusIs(err, http.StatusConflict) }

func statusIs(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}
