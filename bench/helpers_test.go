package bench

import (
	"time"

	"github.com/panjf2000/ants/v2"
)

func durationNs(n int) time.Duration { return time.Duration(n) }

func antsPreAlloc() ants.Option { return ants.WithPreAlloc(true) }
