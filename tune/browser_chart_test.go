package tune

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// page wraps the actions the browser tests repeat.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p page) num(js string) float64 {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](js))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func (p page) str(js string) string {
	p.t.Helper()
	return evalString(p.t, p.ctx, js)
}

// wait waits until the JavaScript expression is true.
func (p page) wait(what, js string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(120*time.Second))); err != nil {
		p.t.Fatalf("waiting for %s (%s): %v", what, js, err)
	}
}

func setCodeJS(code string) chromedp.Action[chromedp.Void] {
	b, _ := json.Marshal(code)
	return chromedp.Evaluate[chromedp.Void](`window.tuneEditor.setText(` + string(b) + `)`)
}

// run presses Run and waits for the answer.
func (p page) run() {
	p.t.Helper()
	n := int(p.num(`Number(document.body.dataset.runs || 0)`))
	p.do("running", chromedp.Click(chromedp.CSS(`#run`)), chromedp.WaitVisible(chromedp.CSS(`body[data-runs="`+strconv.Itoa(n+1)+`"]`)))
}

// overRect is the plotting area of the GC chart, in CSS px of the page.
type overRect struct{ Left, Top, Width, Height float64 }

func (p page) over() overRect {
	p.t.Helper()
	var r overRect
	if err := json.Unmarshal([]byte(p.str(`(() => { const r = document.querySelector('#chart .u-over').getBoundingClientRect(); return JSON.stringify({left: r.left, top: r.top, width: r.width, height: r.height}); })()`)), &r); err != nil {
		p.t.Fatal(err)
	}
	return r
}

// drag presses the left button at fx of the plot's width, moves to tx in
// steps and releases it, with the given modifiers.
func (p page) drag(fx, tx float64, mods ...chromedp.Modifier) {
	p.t.Helper()
	r := p.over()
	y := r.Top + r.Height/2
	x0, x1 := r.Left+fx*r.Width, r.Left+tx*r.Width
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0, y, chromedp.ButtonLeft, chromedp.ButtonModifiers(mods...), chromedp.ClickCount(1))}
	for i := 1; i <= 8; i++ {
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x0+(x1-x0)*float64(i)/8, y, chromedp.ButtonLeft, chromedp.ButtonModifiers(mods...)))
	}
	steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x1, y, chromedp.ButtonLeft, chromedp.ButtonModifiers(mods...), chromedp.ClickCount(1)), chromedp.Sleep(150*time.Millisecond))
	p.do("dragging on the chart", steps...)
}

func (p page) xScale() (float64, float64) {
	return p.num(`window.tuneChart.scales.x.min`), p.num(`window.tuneChart.scales.x.max`)
}

// gcLoop runs 320 forced collections on a heap of a few hundred KiB.
const gcLoop = `package main

import (
	"runtime"
	"time"
)

var keep [][]byte

func Run(s string) int {
	for i := 0; i < 320; i++ {
		keep = append(keep, make([]byte, 1024))
		runtime.GC()
		if i%20 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	return len(keep)
}
`

// TestTuneBrowserChart checks the GC chart (issue 17, point 6): 320+
// cycles drawn thinned and all in the table, small heaps in KiB, the
// cursor read-out, zoom by drag-select and its reset by double-click,
// panning, and the legend's toggles.
func TestTuneBrowserChart(t *testing.T) {
	pageOnlyUnderRace(t)
	srv := startServer(t, Options{})
	ctx, pageErrors := startBrowser(t, 240*time.Second)
	p := page{t, ctx}
	p.do("loading the page", chromedp.Navigate(srv.URL()), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	p.do("setting the code", setCodeJS(gcLoop))
	p.run()
	p.do("opening the GC tab", chromedp.Click(chromedp.CSS(`.tabs button[data-tab="gc"]`)), chromedp.WaitVisible(chromedp.CSS(`#chart .uplot`)), chromedp.Sleep(300*time.Millisecond))

	// Every cycle is in the table; the chart draws them thinned.
	rows := int(p.num(`document.querySelectorAll('#cycles tr[data-n]').length`))
	visible := int(p.num(`Number(document.getElementById('chart').dataset.visibleCycles)`))
	marks := int(p.num(`Number(document.getElementById('chart').dataset.marks)`))
	bands := int(p.num(`Number(document.getElementById('chart').dataset.bands)`))
	if rows < 321 || visible != rows {
		t.Errorf("table rows %d, cycles on the chart %d; want every one of 320+ in both", rows, visible)
	}
	if marks*2 > visible || bands == 0 {
		t.Errorf("%d cycles drawn as %d marks (%d bands): want them thinned to under half", visible, marks, bands)
	}

	// Small heaps: KiB, not "0→0→0 MB".
	table := p.str(`document.getElementById('cycles').textContent`)
	if !strings.Contains(table, "KiB") || regexp.MustCompile(`(^|[^0-9.])0→|(^|[^0-9.])0 MB`).MatchString(table) {
		t.Errorf("the cycles table at a heap of a few hundred KiB: %.400s", table)
	}

	// The cursor read-out: the values at the cursor, in KiB, and the
	// nearest cycle.
	r := p.over()
	p.do("pointing at the chart", chromedp.MouseEvent(chromedp.MouseMoved, r.Left+r.Width*0.5, r.Top+r.Height*0.5), chromedp.Sleep(200*time.Millisecond))
	readout := p.str(`document.getElementById('gc-readout').textContent`)
	legendInUse := p.str(`document.querySelectorAll('#chart .u-legend tr.u-series')[1].querySelector('.u-value').textContent`)
	if !strings.HasPrefix(readout, "at ") || !strings.Contains(readout, "heap in use") || !strings.Contains(readout, "KiB") {
		t.Errorf("cursor read-out: %q", readout)
	}
	if !strings.Contains(legendInUse, "KiB") {
		t.Errorf("the legend's heap-in-use value at the cursor: %q, want KiB", legendInUse)
	}

	// Zoom: a drag selects a time range, which becomes the x scale.
	min0, max0 := p.xScale()
	p.drag(0.30, 0.36)
	min1, max1 := p.xScale()
	if !(min1 > min0 && max1 < max0 && (max1-min1) < 0.12*(max0-min0)) {
		t.Errorf("after selecting 30%%–36%% of [%.1f, %.1f] ms the x scale is [%.1f, %.1f]", min0, max0, min1, max1)
	}
	zoomedVisible := int(p.num(`Number(document.getElementById('chart').dataset.visibleCycles)`))
	zoomedMarks := int(p.num(`Number(document.getElementById('chart').dataset.marks)`))
	if zoomedVisible >= visible || float64(zoomedMarks) < float64(zoomedVisible)*float64(marks)/float64(visible) {
		t.Errorf("zoomed in: %d cycles as %d marks (all: %d as %d); want fewer cycles, separated more", zoomedVisible, zoomedMarks, visible, marks)
	}
	// Pan: Shift+drag moves the range and keeps its width.
	p.drag(0.6, 0.3, chromedp.ModifierShift)
	min2, max2 := p.xScale()
	if !(min2 > min1) || math.Abs((max2-min2)-(max1-min1)) > 1e-6*(max0-min0)+1e-9 {
		t.Errorf("Shift+drag to the left: x scale [%.2f, %.2f] → [%.2f, %.2f]; want it moved later with the same width", min1, max1, min2, max2)
	}
	// A double-click resets the zoom.
	p.do("double-clicking the chart",
		chromedp.MouseClickXY(r.Left+r.Width*0.5, r.Top+r.Height*0.5),
		chromedp.MouseClickXY(r.Left+r.Width*0.5, r.Top+r.Height*0.5, chromedp.ClickCount(2)),
		chromedp.Sleep(150*time.Millisecond))
	min3, max3 := p.xScale()
	if math.Abs(min3-min0) > 1e-6 || math.Abs(max3-max0) > 1e-6 {
		t.Errorf("after a double-click the x scale is [%.2f, %.2f]; want the whole run [%.2f, %.2f]", min3, max3, min0, max0)
	}

	// The wheel zooms around the cursor; a double-click resets it again.
	wheel := func(dy float64) chromedp.MouseOption {
		// (CDP wants deltaX too, and leaves a zero out.)
		return func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 0.01, dy }
	}
	p.do("turning the wheel over the chart", chromedp.MouseEvent(chromedp.MouseWheel, r.Left+r.Width*0.5, r.Top+r.Height*0.5, wheel(-120)), chromedp.Sleep(150*time.Millisecond))
	min4, max4 := p.xScale()
	p.do("double-clicking the chart again",
		chromedp.MouseClickXY(r.Left+r.Width*0.5, r.Top+r.Height*0.5),
		chromedp.MouseClickXY(r.Left+r.Width*0.5, r.Top+r.Height*0.5, chromedp.ClickCount(2)),
		chromedp.Sleep(150*time.Millisecond))
	min5, max5 := p.xScale()
	if !(min4 > min0 && max4 < max0) || math.Abs(min5-min0) > 1e-6 || math.Abs(max5-max0) > 1e-6 {
		t.Errorf("wheel: x scale [%.2f, %.2f] → [%.2f, %.2f], after a double-click [%.2f, %.2f]; want it narrowed, then the whole run", min0, max0, min4, max4, min5, max5)
	}

	// Legend toggles: a click hides a series, another shows it again; the
	// GC marks' entries hide their cycles.
	legend := func(i int) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`#chart .u-legend tr.u-series:nth-child(` + strconv.Itoa(i+1) + `) th`))
	}
	p.do("moving the mouse off the chart", chromedp.MouseEvent(chromedp.MouseMoved, 5, 5), chromedp.Sleep(100*time.Millisecond))
	p.do("hiding the live heap", legend(2), chromedp.Sleep(100*time.Millisecond))
	liveOff := p.num(`(window.tuneChart.series[2].show ? 0 : 1) + (document.querySelectorAll('#chart .u-legend tr.u-series')[2].classList.contains('u-off') ? 1 : 0)`)
	p.do("showing it again", legend(2), chromedp.Sleep(100*time.Millisecond))
	liveOn := p.num(`window.tuneChart.series[2].show ? 1 : 0`)
	if liveOff != 2 || liveOn != 1 {
		t.Errorf("legend toggle of the live heap: hidden %v/2, shown again %v/1", liveOff, liveOn)
	}
	automatic := int(p.num(`[...document.querySelectorAll('#cycles tr[data-n]')].filter(r => r.textContent.includes('automatic')).length`))
	p.do("hiding the forced GC marks", legend(6), chromedp.Sleep(100*time.Millisecond))
	withoutForced := int(p.num(`Number(document.getElementById('chart').dataset.visibleCycles)`))
	p.do("showing them again", legend(6), chromedp.Sleep(100*time.Millisecond))
	withForced := int(p.num(`Number(document.getElementById('chart').dataset.visibleCycles)`))
	if withoutForced != automatic || withForced != rows {
		t.Errorf("GC (forced) toggle: %d cycles drawn without the forced ones (want the %d automatic), %d with them (want %d)", withoutForced, automatic, withForced, rows)
	}
	pageErrors()
}

// TestTuneBrowserKnobsAndShare checks the run knobs, their validation, the
// kept edits and the share link (issue 17, point 8).
func TestTuneBrowserKnobsAndShare(t *testing.T) {
	pageOnlyUnderRace(t)
	srv := startServer(t, Options{})
	ctx, pageErrors := startBrowser(t, 240*time.Second)
	p := page{t, ctx}
	p.do("loading the page", chromedp.Navigate(srv.URL()), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	code := `package main

import "runtime"

var keep []byte

// Run allocates 40 MB in 4 KiB pieces and returns GOMAXPROCS.
func Run(s string) int {
	for i := 0; i < 10000; i++ {
		keep = make([]byte, 4096)
	}
	return runtime.GOMAXPROCS(0)
}
`
	knob := func(name, value string) chromedp.Action[chromedp.Void] {
		clear := chromedp.Evaluate[chromedp.Void](`document.getElementById('knobs').open = true; document.getElementById('knob-` + name + `').value = ''`)
		typ := chromedp.SendKeys(chromedp.CSS(`#knob-`+name), value)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := clear(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
			return typ(ctx, tg)
		}
	}
	p.do("setting the code, the input and the knobs", setCodeJS(code),
		chromedp.SetValue(chromedp.CSS(`#input`), "knob input"),
		knob("gogc", "off"), knob("gomaxprocs", "1"))
	p.run()
	applied := p.str(`(document.getElementById('knobs-applied') || {}).textContent || ''`)
	reported := p.str(`(document.getElementById('runtime-settings') || {}).textContent || ''`)
	result := p.str(`document.getElementById('result').textContent`)
	cycles := p.str(`JSON.stringify([...document.querySelectorAll('#cycles tr[data-n]')].map(r => r.children[2].textContent))`)
	if applied != "GOGC=off · GOMAXPROCS=1" || !strings.Contains(reported, "GOMAXPROCS 1 ") || !strings.Contains(reported, "GOGC off") || result != "1" {
		t.Errorf("knobs GOGC=off GOMAXPROCS=1: applied %q, the child reports %q and returned %q", applied, reported, result)
	}
	if strings.Contains(cycles, "automatic") || !strings.Contains(cycles, "forced by tune") {
		t.Errorf("GOGC=off: the cycles are %s; want only tune's forced one", cycles)
	}

	// A knob the server refuses: the reason is on the page.
	p.do("setting GOGC to a word", knob("gogc", "lots"), chromedp.Click(chromedp.CSS(`#run`)))
	p.wait("the refusal", `document.getElementById('status').classList.contains('err') && document.getElementById('tab-output').textContent.includes('knob GOGC "lots"')`)
	if p.num(`document.getElementById('knob-gogc').classList.contains('bad') && document.querySelectorAll('.knob-grid input.bad').length === 1 ? 1 : 0`) != 1 {
		t.Error("the refused GOGC knob is not the one outlined")
	}
	p.do("setting GOGC back", knob("gogc", "off"), chromedp.Sleep(500*time.Millisecond))

	// A reload keeps the edits: code, input, mode and knobs.
	p.do("reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	kept := p.str(`JSON.stringify([window.tuneEditor.getText(), document.getElementById('input').value, document.getElementById('knob-gogc').value, document.getElementById('knob-gomaxprocs').value])`)
	if got, want := decodeStrings(t, kept), []string{code, "knob input", "off", "1"}; strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("after a reload the page holds %q, want %q", got, want)
	}

	// The share link: Debug mode too; it carries no token.
	p.do("sharing in Debug mode", chromedp.Click(chromedp.CSS(`#mode button[data-mode="debug"]`)), chromedp.Click(chromedp.CSS(`#share`)))
	p.wait("the share link", `!!document.body.dataset.shareLink`)
	link := p.str(`document.body.dataset.shareLink`)
	if !strings.HasPrefix(link, base(srv)+"/#x=") || strings.Contains(link, srv.Token()) || strings.Contains(link, "token") || p.str(`document.getElementById('share-link').value`) != link {
		t.Fatalf("share link %q: want %s/#x=... without the token", link, base(srv))
	}

	// A fresh browser (another profile: nothing kept) opens the link:
	// without a token it shows the experiment and says how to run it; with
	// the token beside it in the fragment it is ready to run.
	ctx2, pageErrors2 := startBrowser(t, 240*time.Second)
	q := page{t, ctx2}
	restored := func() string {
		return strings.Join(decodeStrings(t, q.str(`JSON.stringify([window.tuneEditor.getText(), document.getElementById('input').value, document.querySelector('#mode button.on').dataset.mode, document.getElementById('knob-gogc').value, document.getElementById('knob-gomaxprocs').value, location.hash])`)), "\x00")
	}
	want := strings.Join([]string{code, "knob input", "debug", "off", "1", ""}, "\x00")
	q.do("opening the share link in a fresh browser", chromedp.Navigate(link))
	q.wait("the shared experiment", `document.body.dataset.shared === "1"`)
	if got := restored(); got != want {
		t.Errorf("the share link opened in a fresh browser holds %q, want %q", got, want)
	}
	if s := q.str(`document.getElementById('status').textContent`); !strings.Contains(s, "#token=") {
		t.Errorf("without a token the status says %q", s)
	}
	fragment := link[strings.Index(link, "#")+1:]
	q.do("opening it with the token", chromedp.Navigate(base(srv)+"/#token="+srv.Token()+"&"+fragment), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	if got := restored(); got != want || q.num(`document.body.dataset.shared === "1" ? 1 : 0`) != 1 {
		t.Errorf("the share link with the token holds %q, want %q", got, want)
	}
	// A damaged link says so.
	q.do("opening a damaged link", chromedp.Navigate(base(srv)+"/#token="+srv.Token()+"&x=AAAA"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	if q.str(`document.body.dataset.shared`) != "error" {
		t.Errorf("a damaged share link: shared=%q", q.str(`document.body.dataset.shared`))
	}
	pageErrors()
	pageErrors2()
}

func decodeStrings(t *testing.T, js string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return out
}
