package tune

import (
	"embed"
	"fmt"
)

//go:embed _samples/*.go
var samplesFS embed.FS

// Experiment is a built-in experiment of the page's sample menu.
type Experiment struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Input string `json:"input"`
	Mode  string `json:"mode"`
	Code  string `json:"code"`
}

var sampleList = []Experiment{
	{ID: "alloc", Title: "Allocating loop: int[3000] + sleep", Input: "5000", Mode: "release"},
	{ID: "escape", Title: "Escape: pointers and fmt.Sprintf", Input: "100000", Mode: "release"},
	{ID: "noalloc", Title: "Zero-allocation rewrite of Escape", Input: "100000", Mode: "release"},
	{ID: "layout", Title: "Struct layout and padding", Input: "", Mode: "release"},
}

// Samples returns the built-in experiments, the allocating loop first.
func Samples() []Experiment {
	out := make([]Experiment, len(sampleList))
	for i, s := range sampleList {
		b, err := samplesFS.ReadFile("_samples/" + s.ID + ".go")
		if err != nil {
			panic(fmt.Sprintf("tune: sample %s is not embedded: %v", s.ID, err))
		}
		s.Code = string(b)
		out[i] = s
	}
	return out
}

// SampleByID returns the built-in experiment with the given id.
func SampleByID(id string) (Experiment, bool) {
	for _, s := range Samples() {
		if s.ID == id {
			return s, true
		}
	}
	return Experiment{}, false
}
