package tune

import "sort"

// LineAlloc is what one line of the snippet allocated during the call,
// measured: the heap profile's records (MemProfileRate = 1, so every
// allocation) whose innermost snippet frame is this line, whether the
// line allocated itself or called a function that did (Via). It is
// child-reported, like the rest of the profile.
type LineAlloc struct {
	Line    int      `json:"line"`
	Bytes   int64    `json:"bytes"`
	Objects int64    `json:"objects"`
	Funcs   []string `json:"funcs,omitempty"` // the snippet functions the line belongs to
	Via     []string `json:"via,omitempty"`   // the callees that allocated, for a line that allocated through a call
	// UnderBytes and UnderObjects are what was allocated on other lines
	// of the snippet while this one was on the stack: in the snippet
	// functions it calls, inlined or not. Bytes and Objects count only
	// the allocations whose innermost snippet frame is this line.
	UnderBytes   int64 `json:"underBytes,omitempty"`
	UnderObjects int64 `json:"underObjects,omitempty"`
}

// allocLines sums sites per line, before the list of sites is cut to its
// heaviest (maxSites), so that every line that allocated is counted, and
// adds what was allocated under each line that called a snippet function
// (under, from the harness). Lines come in order.
func allocLines(sites []Site, under []LineAlloc) []LineAlloc {
	by := map[int]*LineAlloc{}
	// at returns line's entry, nil for a site outside the snippet.
	at := func(line int) *LineAlloc {
		if line <= 0 {
			return nil
		}
		la := by[line]
		if la == nil {
			la = &LineAlloc{Line: line}
			by[line] = la
		}
		return la
	}
	for _, s := range sites {
		la := at(s.Line)
		if la == nil {
			continue
		}
		la.Bytes += s.Bytes
		la.Objects += s.Objects
		la.Funcs = appendNew(la.Funcs, s.Func)
		if s.Via != "" {
			la.Via = appendNew(la.Via, s.Via)
		}
	}
	for _, u := range under {
		la := at(u.Line)
		if la == nil {
			continue
		}
		la.UnderBytes += u.Bytes
		la.UnderObjects += u.Objects
	}
	out := make([]LineAlloc, 0, len(by))
	for _, la := range by {
		sort.Strings(la.Funcs)
		sort.Strings(la.Via)
		out = append(out, *la)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
