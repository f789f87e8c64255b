package controller

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ovsnet/ovsnet/model"
)

// Sentinel kinds of failure. Handlers map them to HTTP status codes; wrapped
// errors keep a message a person can act on.
var (
	ErrNotFound    = errors.New("not found")
	ErrInvalid     = errors.New("invalid request")
	ErrConflict    = errors.New("conflict")
	ErrForbidden   = errors.New("forbidden")
	ErrUnavailable = errors.New("unavailable")
	ErrTimeout     = errors.New("timeout")
)

// apiError carries the message shown to the user, the kind of failure
// and, for bad input, the request field it is about.
type apiError struct {
	kind  error
	msg   string
	field string
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &apiError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// fieldErrorf is errorf about one field of the request.
func fieldErrorf(kind error, field, format string, args ...any) error {
	return &apiError{kind: kind, msg: fmt.Sprintf(format, args...), field: field}
}

// invalid turns a validation failure of package model into bad input,
// keeping the field it names.
func invalid(err error) error {
	return &apiError{kind: ErrInvalid, msg: err.Error(), field: model.ErrorField(err)}
}

// errorField is the request field a failure is about, "" for none.
func errorField(err error) string {
	var a *apiError
	if errors.As(err, &a) {
		return a.field
	}
	return ""
}

// statusOf maps an error to the HTTP status the API answers with.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTimeout):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}
