package sampler_test

import (
	"fmt"
	"os"

	"github.com/zerogc/zerogc/lab/sampler"
)

func ExampleReadRSS() {
	rss, err := sampler.ReadRSS(os.Getpid())
	fmt.Println(err == nil && rss > 0)
	// Output: true
}
