//go:build !zerogcdebug

package pool

const debugByTag = false
