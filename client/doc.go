// Package client is a typed Go client for the ovsnet controller's REST API:
// the Docker Engine API's network endpoints (/networks...) and ovsnet's own
// resources under /ovsnet/v1/.
//
// It is used by ovsnetctl, by tests and by the agent's Docker plugin. Every
// method takes a context, speaks the JSON shapes of package model, and turns
// a non-2xx answer into an *APIError carrying the controller's message.
package client
