package ovsagent

import (
	"context"
	"io"
	"log/slog"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// nullSource publishes nothing: tests set the desired state themselves.
type nullSource struct{}

func (nullSource) Run(ctx context.Context, publish func(*Desired)) { <-ctx.Done() }
