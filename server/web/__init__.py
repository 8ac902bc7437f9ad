"""The browser pages: plain HTML, ES modules and CSS served from this package, no build step."""
