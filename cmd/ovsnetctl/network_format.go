package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ovsnet/ovsnet/model"
)

// networkRow is one network as `network ls --format` templates see it:
// Docker's placeholders, as methods.
type networkRow struct {
	n       model.NetworkResource
	noTrunc bool
}

func (r networkRow) ID() string       { return shortID(r.n.ID, r.noTrunc) }
func (r networkRow) Name() string     { return r.n.Name }
func (r networkRow) Driver() string   { return r.n.Driver }
func (r networkRow) Scope() string    { return r.n.Scope }
func (r networkRow) IPv6() string     { return strconv.FormatBool(r.n.EnableIPv6) }
func (r networkRow) Internal() string { return strconv.FormatBool(r.n.Internal) }
func (r networkRow) CreatedAt() string {
	return r.n.Created
}

// Labels is the labels as sorted key=value pairs joined by commas.
func (r networkRow) Labels() string {
	pairs := make([]string, 0, len(r.n.Labels))
	for k, v := range r.n.Labels {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// Label is one label's value.
func (r networkRow) Label(key string) string { return r.n.Labels[key] }

// networkHeader has the placeholders' column titles, for "table" formats.
type networkHeader struct{}

func (networkHeader) ID() string              { return "NETWORK ID" }
func (networkHeader) Name() string            { return "NAME" }
func (networkHeader) Driver() string          { return "DRIVER" }
func (networkHeader) Scope() string           { return "SCOPE" }
func (networkHeader) IPv6() string            { return "IPV6" }
func (networkHeader) Internal() string        { return "INTERNAL" }
func (networkHeader) CreatedAt() string       { return "CREATED AT" }
func (networkHeader) Labels() string          { return "LABELS" }
func (networkHeader) Label(key string) string { return "LABEL" }

// networkListFormat returns what prints the rows for a --format value, or
// nil for the default table ("" or "table"). With -q, only IDs are printed
// whatever the format, as Docker does.
func networkListFormat(format string, quiet bool) (func(io.Writer, []networkRow) error, error) {
	if quiet || format == "" || format == "table" {
		return nil, nil
	}
	if format == "json" {
		return func(out io.Writer, rows []networkRow) error {
			for _, r := range rows {
				b, err := json.Marshal(map[string]string{"ID": r.ID(), "Name": r.Name(), "Driver": r.Driver(),
					"Scope": r.Scope(), "IPv6": r.IPv6(), "Internal": r.Internal(), "Labels": r.Labels(), "CreatedAt": r.CreatedAt()})
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	body, isTable := strings.CutPrefix(format, "table ")
	// Docker's templates write a tab as the two characters \t.
	body = strings.ReplaceAll(body, `\t`, "\t")
	tmpl, err := parseTemplate(body)
	if err != nil {
		return nil, err
	}
	execute := func(out io.Writer, v any) error {
		if err := tmpl.Execute(out, v); err != nil {
			return fmt.Errorf("template execution error: %w", err)
		}
		_, err := fmt.Fprintln(out)
		return err
	}
	if !isTable {
		return func(out io.Writer, rows []networkRow) error {
			for _, r := range rows {
				if err := execute(out, r); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	return func(out io.Writer, rows []networkRow) error {
		t := &table{w: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)}
		if err := execute(t.w, networkHeader{}); err != nil {
			return err
		}
		for _, r := range rows {
			if err := execute(t.w, r); err != nil {
				return err
			}
		}
		return t.flush()
	}, nil
}
