// Package web is ovsnet's browser UI: plain HTML, CSS and JavaScript
// modules, embedded into the controller binary, so there is no build step
// and nothing to install. The controller serves index.html at / and the
// assets under /ui/; everything the pages show comes from the REST API
// and its event stream (/ovsnet/v1/events).
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html assets
var files embed.FS

// Index is the single page's HTML.
func Index() []byte {
	b, err := files.ReadFile("index.html")
	if err != nil {
		panic("web: index.html is not embedded: " + err.Error())
	}
	return b
}

// Assets are the scripts, styles and icons, rooted at assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic("web: assets are not embedded: " + err.Error())
	}
	return sub
}
