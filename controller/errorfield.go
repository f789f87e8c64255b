package controller

import (
	"github.com/ovsnet/ovsnet/model"
)

// errorBody is the JSON of every error answer: Docker's {"message": ...},
// plus, for bad input to a network create, the request field it concerns,
// so the web UI can show the message next to that field.
type errorBody struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Fields of a network create that errors can point at: model's, which
// its validation names, and which the UI's form uses.
const (
	fieldName     = model.FieldName
	fieldDriver   = model.FieldDriver
	fieldHost     = model.FieldHost
	fieldSubnet   = model.FieldSubnet
	fieldGateway  = model.FieldGateway
	fieldIPRange  = model.FieldIPRange
	fieldSubnet6  = model.FieldSubnet6
	fieldGateway6 = model.FieldGateway6
	fieldMTU      = model.FieldMTU
)
