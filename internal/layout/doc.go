// Package layout holds the tests that keep the module's shape as
// STYLE.md and DESIGN.md draw it: the import graph (rollover -> keystore
// -> wssec -> internal, internal packages never importing public ones,
// test helpers imported only by tests, examples using only the public
// API), and the size of the code (no non-test file above 500 lines, no
// function above cyclomatic complexity 25 but the listed exceptions).
package layout
