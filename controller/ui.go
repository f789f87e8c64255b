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

// uiCSP keeps the UI to its own origin: nothing is allowed unless named;
// scripts, styles, images and API calls come from the controller only (no
// inline code, no eval, no data: URLs); no plugins, no <base>, no form
// submissions (the UI sends JSON with fetch), no framing; and DOM sinks
// such as innerHTML refuse strings (Trusted Types: the UI builds its
// elements with text nodes only, web/assets/dom.js).
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// uiHeaders set the UI's CSP, forbid framing and sniffing, and make
// browsers revalidate, so a new controller version's assets are picked up
// at once.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}
