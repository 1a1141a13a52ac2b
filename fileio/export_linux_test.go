//go:build linux

package fileio

// UseUringPlainPath makes io_uring Readers created from now on use the
// plain path (a descriptor per open, one request per loop round trip), as
// on kernels without direct descriptors.
func UseUringPlainPath() { uringNoDirect = true }

// UseUringNoInline makes io_uring Readers created from now on send every
// ReadInto through the ring, as on kernels without openat2's
// RESOLVE_CACHED (before Linux 5.12).
func UseUringNoInline() { uringInline = false }

// UseUringDeferTaskrun makes io_uring Readers created from now on set up
// their rings with SINGLE_ISSUER and DEFER_TASKRUN on the loop's locked
// thread (uringDeferTaskrun).
func UseUringDeferTaskrun() { uringDeferTaskrun = true }

// UseUringRings makes io_uring Readers created from now on without
// WithRings spread their reads over n rings (0: one per P, the default),
// with large reads at depth sent to the rings (uringRings,
// uringRingsLarge).
func UseUringRings(n int) { uringRings, uringRingsLarge = n, true }

// UseUringSpin makes io_uring Readers created from now on yield n times
// when idle before they sleep (uringSpin).
func UseUringSpin(n int) { uringSpin = n }

// UseUringInlineDeep sets whether io_uring Readers created from now on
// try one small read in inlineDeepEvery inline at depth (uringInlineDeep).
func UseUringInlineDeep(on bool) { uringInlineDeep = on }
