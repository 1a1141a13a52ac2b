package tune

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPage is a headless Chromium on a tune server's page, for the
// tests of issue 17's features.
type browserPage struct {
	t   *testing.T
	ctx context.Context
}

// openPage starts Chromium (see findChromium), loads srv's page and waits
// until it is ready. The page's exceptions and console errors fail the
// test at its end.
func openPage(t *testing.T, srv *Server, timeout time.Duration) *browserPage {
	t.Helper()
	p := &browserPage{t: t}
	ctx, pageErrors := startBrowser(t, timeout)
	p.ctx = ctx
	t.Cleanup(pageErrors)
	p.do("loading the page", chromedp.Navigate(srv.URL()), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	return p
}

func (p *browserPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v (status: %q)", what, err, p.str(`document.getElementById('status').textContent`))
	}
}

func (p *browserPage) num(js string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return n
}

func (p *browserPage) str(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return s
}

func (p *browserPage) tab(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`.tabs button[data-tab="` + name + `"]`))
}

func (p *browserPage) pick(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('sample'); s.value = "` + id + `"; s.dispatchEvent(new Event('change')); })()`)
}

// runs is how many runs the page finished.
func (p *browserPage) runs() int { return p.num(`Number(document.body.dataset.runs || 0)`) }

func (p *browserPage) waitRuns(n int) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`body[data-runs="` + strconv.Itoa(n) + `"]`))
}

// editorLine is the 1-based number of the first editor line with class
// cls, or 0.
func (p *browserPage) editorLine(cls string) int {
	return p.num(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('` + cls + `')) + 1`)
}

// TestIssue17_BrowserAllocLinesAndSSA: the noalloc sample's run marks
// the one line that allocated (string(out)) differently from the lines
// escape analysis marks but that allocated nothing, the Allocations tab
// lists both kinds linked to the editor, and the SSA tab shows Run's
// passes with the ones that changed it highlighted. The SSA tab's
// screenshot goes to $TUNE_SCREENSHOT_SSA if set.
func TestIssue17_BrowserAllocLinesAndSSA(t *testing.T) {
	pageOnlyUnderRace(t)
	srv := startServer(t, Options{})
	p := openPage(t, srv, 240*time.Second)
	code, err := os.ReadFile("_samples/noalloc.go")
	if err != nil {
		t.Fatal(err)
	}
	ret := lineOf(t, string(code), "return string(out)")

	n := p.runs()
	p.do("running the noalloc sample", p.pick("noalloc"), chromedp.Click(chromedp.CSS(`#run`)), p.waitRuns(n+1))
	allocated := p.editorLine("tune-allocated")
	idle := p.num(`document.querySelectorAll('.cm-content .cm-line.tune-heapidle').length`)
	bothOnIdle := p.num(`document.querySelectorAll('.cm-content .cm-line.tune-heapidle.tune-heap, .cm-content .cm-line.tune-heapidle.tune-moved').length`)
	if allocated != ret || idle == 0 || bothOnIdle != idle {
		t.Errorf("editor: line %d marked as allocated (want %d, string(out)); %d lines marked as escaping without allocating (%d of them also keep their escape mark); want at least one, all keeping it", allocated, ret, idle, bothOnIdle)
	}
	// The Escapes tab says beside each heap decision what its line
	// allocated in this run.
	p.do("opening the Escapes tab", p.tab("escapes"), chromedp.WaitVisible(chromedp.CSS(`#tab-escapes .esc`)))
	tagged := p.str(`[...document.querySelectorAll('#tab-escapes .esc[data-kind="heap"]')].map(e => e.dataset.line + ':' + ((e.querySelector('.tag.measured') || {}).textContent || '')).join('; ')`)
	if !strings.Contains(tagged, strconv.Itoa(ret)+":allocated 16 B in this run") || !strings.Contains(tagged, ":nothing allocated in this run") {
		t.Errorf("Escapes tab, heap decisions with what was measured: %q", tagged)
	}
	if v := p.str(`document.getElementById('go-version').textContent`); v != srv.Runner().GoVersion() {
		t.Errorf("Output tab names Go %q, want %s", v, srv.Runner().GoVersion())
	}
	p.do("opening the Allocations tab", p.tab("alloc"), chromedp.WaitVisible(chromedp.CSS(`#alloc-lines`)))
	rows := p.str(`[...document.querySelectorAll('#alloc-lines tr[data-line]')].map(r => r.dataset.line + ':' + r.className + ':' + r.dataset.measured).join(' ')`)
	if !strings.Contains(rows, strconv.Itoa(ret)+":allocated:") || !strings.Contains(rows, ":heapidle:0") {
		t.Errorf("Allocations tab per-line rows: %q; want line %d allocated and an escaping line with nothing allocated", rows, ret)
	}
	idleLine := p.num(`Number(document.querySelector('#alloc-lines tr.heapidle').dataset.line)`)
	p.do("following an escaping line's link", chromedp.Click(chromedp.CSS(`#alloc-lines tr.heapidle a.line`)))
	if got := p.editorLine("cm-activeLine"); got != idleLine {
		t.Errorf("the link of line %d put the cursor on line %d", idleLine, got)
	}

	// SSA: fetched when the tab opens, for the entry function Run.
	p.do("opening the SSA tab", p.tab("ssa"), chromedp.WaitVisible(chromedp.CSS(`body[data-ssa-loads="1"]`)), chromedp.WaitVisible(chromedp.CSS(`#ssa-passes`)))
	passes := p.num(`document.querySelectorAll('#ssa-passes li').length`)
	changed := p.num(`document.querySelectorAll('#ssa-passes li.changed').length`)
	same := p.num(`document.querySelectorAll('#ssa-passes li.same').length`)
	fn := p.str(`document.getElementById('ssa-func').value`)
	first := p.str(`document.querySelector('#ssa-passes li').dataset.name`)
	if passes < 20 || changed < 5 || same < 5 || fn != "Run" || first != "build" {
		t.Errorf("SSA tab: function %q, %d passes from %q, %d changed it, %d did not; want Run's passes from build, both kinds", fn, passes, first, changed, same)
	}
	p.do("showing the prove pass", chromedp.Click(chromedp.CSS(`#ssa-passes li[data-name="lower"]`)), chromedp.WaitVisible(chromedp.CSS(`#ssa-text[data-pass="lower"]`)))
	added := p.num(`document.querySelectorAll('#ssa-text div.add').length`)
	text := p.str(`document.getElementById('ssa-text').textContent`)
	if added == 0 || !strings.HasPrefix(text, "Run func(string) string") {
		t.Errorf("lower pass: %d added lines highlighted; text %.200q", added, text)
	}
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("TUNE_SCREENSHOT_SSA"); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.do("keeping only the passes that changed Run", chromedp.Click(chromedp.CSS(`#ssa-changed`)))
	if n, c := p.num(`document.querySelectorAll('#ssa-passes li').length`), p.num(`document.querySelectorAll('#ssa-passes li.changed').length`); n != changed || c != changed {
		t.Errorf("with only changed passes: %d listed, %d changed; want %d", n, c, changed)
	}
	// Another function: appendLabel, from the list.
	p.do("choosing appendLabel",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('ssa-func'); s.value = "appendLabel"; s.dispatchEvent(new Event('change')); })()`),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ssa-loads="2"]`)))
	if s := p.str(`document.getElementById('ssa-text').textContent`); !strings.HasPrefix(s, "appendLabel func([]byte, Point) []byte") {
		t.Errorf("SSA of appendLabel: %.200q", s)
	}
}

// TestIssue17_BrowserCompareAndGoVersion: a kept run A against a Debug
// run B (assembly and escape decisions diffed), then the snippet on the
// installed Go and on go1.27.3 side by side, benchmarks included. The
// go1.27.3 part skips with the reason where the module proxy is out of
// reach, except under CI=true. The Compare tab's screenshot after the run
// on both goes to $TUNE_SCREENSHOT_COMPARE if set.
func TestIssue17_BrowserCompareAndGoVersion(t *testing.T) {
	pageOnlyUnderRace(t)
	srv := startServer(t, Options{})
	p := openPage(t, srv, 420*time.Second)
	n := p.runs()
	p.do("running the escape sample", p.pick("escape"), chromedp.Click(chromedp.CSS(`#run`)), p.waitRuns(n+1))
	// label is inlined at line 21: the compiler reports its escapes
	// there, the heap profile its allocations on its own line 27.
	if under, idle := p.editorLine("tune-allocunder"), p.num(`document.querySelectorAll('.cm-content .cm-line.tune-heapidle').length`); under != 21 || idle != 0 || p.editorLine("tune-allocated") != 27 {
		t.Errorf("escape sample: line %d marked as allocating in its callees (want 21), line %d as allocating (want 27), %d as allocating nothing (want 0)", under, p.editorLine("tune-allocated"), idle)
	}
	p.do("keeping it as A and running it in Debug",
		p.tab("compare"), chromedp.Click(chromedp.CSS(`#cmp-keep`)),
		chromedp.Click(chromedp.CSS(`#mode button[data-mode="debug"]`)),
		chromedp.Click(chromedp.CSS(`#run`)), p.waitRuns(n+2),
		p.tab("compare"), chromedp.WaitVisible(chromedp.CSS(`#tab-compare .cmp-asm[data-fn="Run"]`)))
	runDiff := p.num(`Number(document.querySelector('#tab-compare .cmp-asm[data-fn="Run"]').dataset.changed)`)
	diffLines := p.num(`document.querySelectorAll('#tab-compare .cmp-asm[data-fn="Run"] pre.diff div.add, #tab-compare .cmp-asm[data-fn="Run"] pre.diff div.del').length`)
	escDiff := p.num(`document.querySelectorAll('#cmp-escapes li').length`)
	summary := p.str(`document.getElementById('cmp-summary').textContent`)
	if runDiff == 0 || diffLines != runDiff || escDiff == 0 || !strings.Contains(summary, "Release") || !strings.Contains(summary, "Debug") {
		t.Errorf("Release A against Debug B: Run's assembly %d lines differ (%d shown), %d escape decisions differ; summary %q", runDiff, diffLines, escDiff, summary)
	}

	// The installed Go against go1.27.3.
	ctx, cancel := context.WithTimeout(context.Background(), toolchainTimeout)
	defer cancel()
	if _, err := srv.Runner().toolchain(ctx, otherGo, nil2); err != nil {
		if os.Getenv("CI") == "true" || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("fetching %s: %v", otherGo, err)
		}
		t.Skipf("skipping the run on %s: %v", otherGo, err)
	}
	p.do("running on the installed Go and on "+otherGo,
		chromedp.Click(chromedp.CSS(`#mode button[data-mode="release"]`)),
		chromedp.Click(chromedp.CSS(`#cmp-both`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-compares="1"]`)))
	goRow := p.str(`document.querySelector('#cmp-summary tr[data-row="Go"]').textContent`)
	results := p.str(`document.querySelector('#cmp-summary tr[data-row="returned"]').textContent`)
	asmFns := p.num(`document.querySelectorAll('#tab-compare .cmp-asm').length`)
	if !strings.Contains(goRow, srv.Runner().GoVersion()) || !strings.Contains(goRow, otherGo) || strings.Count(results, "(99999, 199998)") != 2 || asmFns == 0 {
		t.Errorf("installed against %s: Go row %q, results %q, %d functions of assembly compared", otherGo, goRow, results, asmFns)
	}
	if out := os.Getenv("TUNE_SCREENSHOT_COMPARE"); out != "" {
		png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.do("benching on both",
		chromedp.Click(chromedp.CSS(`#cmp-both-bench`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-compares="2"]`)))
	allocsRow := p.str(`(document.querySelector('#cmp-bench tr[data-unit="allocs/op"]') || {}).textContent || ""`)
	goRow = p.str(`document.querySelector('#cmp-summary tr[data-row="Go"]').textContent`)
	if !strings.Contains(allocsRow, "BenchmarkRun") || !strings.Contains(goRow, otherGo) {
		t.Errorf("bench on both: allocs/op row %q, Go row %q", allocsRow, goRow)
	}
}
