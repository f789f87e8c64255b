package controller

import (
	"net/http"

	"github.com/ovsnet/ovsnet/web"
)

// The web UI: one page at / (the pages inside it are client-side routes,
// #/networks, #/topology, ...) and its assets under /ui/.

func serveUIIndex(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(web.Index())
}

func uiAssets() http.Handler {
	assets := http.StripPrefix("/ui/", http.FileServerFS(web.Assets()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		assets.ServeHTTP(w, r)
	})
}

// uiHeaders keep the UI to its own origin (no inline scripts or styles,
// no framing) and make browsers revalidate, so a new controller version's
// assets are picked up at once.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}
