// Package layout holds the test that keeps the module's import graph as
// STYLE.md and DESIGN.md draw it: rollover -> keystore -> wssec ->
// internal, internal packages never importing public ones, test helpers
// imported only by tests, examples using only the public API.
package layout
