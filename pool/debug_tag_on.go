//go:build zerogcdebug

package pool

const debugByTag = true
