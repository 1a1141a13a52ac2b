//go:build !linux

package fileio

var uringInline = false

var uringLargeAsync = false

var uringInlineDeep = false

const (
	inlineLargeMin  = 256 << 10
	inlineQuiet     = 2
	inlineBreak     = 32
	inlineDeepEvery = 4
	inlineDeepSkip  = 256
)

type inlineState uint8

const (
	inlineNone inlineState = iota
	inlineDone
	inlineTruncated
	inlineOpened
)

// readInline is Linux only (openat2 with RESOLVE_CACHED, RWF_NOWAIT).
func readInline(path string, buf []byte, onlyCached bool) (int, int, inlineState) {
	return 0, -1, inlineNone
}

func closeInlineFd(fd int32) {}

func openInline(path string, buf []byte, wantCached bool) (int, bool) { return -1, false }

func resident(dst []byte) bool { return true }

var uringPrefault = false
