//go:build !race

package walkthrough_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/fileio/walkthrough"
)

// TestTableZero checks the measured table: every pooled ReadInto row is 0.
func TestTableZero(t *testing.T) {
	var out bytes.Buffer
	if err := walkthrough.Run(&out, walkthrough.Options{Quiet: true, Backend: fileio.Workers, Runs: 50}); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "| ReadInto") && strings.Contains(line, "| yes |") {
			rows++
			if !strings.Contains(line, "| yes | 0 | nothing |") {
				t.Errorf("pooled row not zero: %s", line)
			}
		}
	}
	if rows != 2 {
		t.Fatalf("found %d pooled ReadInto rows, want 2:\n%s", rows, out.String())
	}
}
