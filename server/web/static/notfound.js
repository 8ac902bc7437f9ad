// The not-found page is static HTML; this module exists so every page loads the same way.
