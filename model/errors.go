package model

import (
	"errors"
	"fmt"
)

// Fields of a network create that a validation error can be about. They
// are the request's field names as the web UI's form and the OpenAPI
// document call them.
const (
	FieldName     = "name"
	FieldDriver   = "driver"
	FieldHost     = "host"
	FieldSubnet   = "subnet"
	FieldGateway  = "gateway"
	FieldIPRange  = "ipRange"
	FieldSubnet6  = "subnet6"
	FieldGateway6 = "gateway6"
	FieldMTU      = "mtu"
)

// FieldError is bad input about one field: the message is for people, the
// field for forms (the UI shows the message next to it).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

// FieldErrorf makes a FieldError.
func FieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrorField is the field err is about, "" for none.
func ErrorField(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
