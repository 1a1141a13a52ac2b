package tune

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findChromium returns the path of a Chromium or Chrome binary. Without
// one the browser test skips, except in CI (CI=true), where .ci/run
// installs Debian's chromium and a missing browser is a failure.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium in PATH: CI must install it (apt-get install chromium)")
	}
	t.Skip("skipping the browser test: no chromium in PATH (install Debian's chromium package to run it)")
	return ""
}

// TestTuneBrowser loads the page in a headless Chromium, runs the allocating
// sample and checks the Assembly tab, the editor's escape marks and the GC
// chart, then saves a screenshot (to $TUNE_SCREENSHOT if set).
// evalString evaluates a JavaScript expression that yields a string.
func evalString(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return s
}

// startBrowser starts a headless Chromium with a fresh profile and returns
// a context for its tab, bounded by timeout and closed at the test's end,
// and a function that fails the test with the page's uncaught exceptions
// and console errors.
func startBrowser(t *testing.T, timeout time.Duration) (context.Context, func()) {
	t.Helper()
	chromium := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1500, 920),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var mu sync.Mutex
	var errs []string
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError {
				msg = "console.error"
				for _, a := range e.Args {
					msg += " " + string(a.Value) + a.Description
				}
			}
		}
		if msg != "" {
			mu.Lock()
			errs = append(errs, msg)
			mu.Unlock()
		}
	}))
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return ctx, func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("page: %s", e)
		}
	}
}

// pageOnlyUnderRace skips a browser test of the page's features in a
// -race build: TestTuneBrowser drives the server from a real browser under
// the race detector, and the server tests cover its concurrency; the other
// browser tests check what the page shows, run in the plain test run
// (scripts/test.sh runs both), and take four times as long under -race.
func pageOnlyUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("a test of the page's features: it runs in the plain (non -race) test run")
	}
}

func TestTuneBrowser(t *testing.T) {
	srv := startServer(t, Options{})

	ctx, pageErrors := startBrowser(t, 240*time.Second)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	count := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return n
	}
	tab := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`.tabs button[data-tab="` + name + `"]`))
	}

	do("loading the page",
		chromedp.Navigate(srv.URL()),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	do("running the allocating sample",
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="1"]`)))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#result`)))
	if err != nil {
		t.Fatal(err)
	}

	// Assembly tab: the sample's function with its instructions and calls.
	do("opening the Assembly tab", tab("asm"), chromedp.WaitVisible(chromedp.CSS(`#tab-asm .asm-fn`)))
	asmFuncs := count(`document.querySelectorAll('#tab-asm .asm-fn').length`)
	asmRun := count(`document.querySelectorAll('#tab-asm .asm-fn[data-fn="Run"]').length`)
	asmCalls := count(`document.querySelectorAll('#tab-asm .asm-fn[data-fn="Run"] .call').length`)

	// Escapes: the allocating line (21) is marked in the tab and in the editor.
	do("opening the Escapes tab", tab("escapes"), chromedp.WaitVisible(chromedp.CSS(`#tab-escapes .esc`)))
	heapMarks := count(`document.querySelectorAll('#tab-escapes .esc[data-kind="heap"][data-line="21"]').length`)
	heapLine := count(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('tune-heap')) + 1`)

	// The GC tab's badge is up to date before the tab is opened.
	gcBadge := count(`Number((document.querySelector('.tabs button[data-tab="gc"] .count') || {}).textContent || 0)`)
	smallHeapsAsZero := count(`/(^|[^0-9])0→|→0([^0-9]|$)/.test(document.getElementById('cycles').textContent) ? 1 : 0`)

	// GC: one vertical line per collection.
	do("opening the GC tab", tab("gc"), chromedp.WaitVisible(chromedp.CSS(`#chart .uplot`)), chromedp.Sleep(300*time.Millisecond))
	gcLines := count(`Number(document.getElementById('chart').dataset.visibleCycles || 0)`)
	liveEvents := count(`Number(document.body.dataset.liveEvents)`)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}

	// Open an experiment file that does not compile: the editor, the input
	// and the mode follow the file, and the error is linked to its line.
	exp := filepath.Join(t.TempDir(), "broken.tune.json")
	broken := `{"code": "package main\n\nfunc Broken(s string) int {\n\treturn undefinedName\n}\n", "input": "opened", "mode": "release"}`
	if err := os.WriteFile(exp, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	do("opening an experiment file",
		chromedp.Click(chromedp.CSS(`#mode button[data-mode="debug"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{exp}),
		chromedp.WaitVisible(chromedp.CSS(`#mode button.on[data-mode="release"]`)))
	opened := count(`(document.querySelector('.cm-content').textContent.includes('func Broken') ? 1 : 0) + (document.getElementById('input').value === 'opened' ? 1 : 0)`)
	do("running the broken snippet",
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tab-output .errors li`)))
	errLinked := count(`[...document.querySelectorAll('#tab-output .errors li')].filter(li => li.textContent.includes('snippet.go:4') && li.textContent.includes('undefined: undefinedName')).length`)
	errLine := count(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('tune-error')) + 1`)
	if opened != 2 {
		t.Errorf("after opening the file, %d of code and input were loaded, want both", opened)
	}
	if errLinked != 1 || errLine != 4 {
		t.Errorf("compile error: %d linked entries for line 4, editor marks line %d; want 1 and line 4", errLinked, errLine)
	}

	if gcBadge != gcLines {
		t.Errorf("GC tab badge said %d before the tab was opened; the chart has %d cycles", gcBadge, gcLines)
	}
	if smallHeapsAsZero != 0 {
		t.Errorf("the cycles table prints a heap under 1 MB as 0 MB: %s", evalString(t, ctx, `document.getElementById('cycles').textContent.slice(0, 300)`))
	}

	// Issue 12: no ambient credential. The token left the address bar, no
	// cookie exists, and another local server the browser visits gets
	// nothing of it.
	var otherMu sync.Mutex
	var otherSaw []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherMu.Lock()
		for k, v := range r.Header {
			otherSaw = append(otherSaw, k+": "+strings.Join(v, ","))
		}
		otherSaw = append(otherSaw, "URL: "+r.URL.String())
		otherMu.Unlock()
		_, _ = io.WriteString(w, "<!doctype html><title>other</title><p>another local server")
	}))
	defer other.Close()
	if n := count(`document.cookie.length + (location.href.includes(` + "`" + `token` + "`" + `) ? 1000 : 0)`); n != 0 {
		t.Errorf("after loading the page, document.cookie is %q and the address is %q", evalString(t, ctx, `document.cookie`), evalString(t, ctx, `location.href`))
	}
	// Reload keeps the code: type into the editor, leave for the other
	// server, come back (without the fragment: sessionStorage has the
	// token) and reload.
	do("typing into the editor",
		chromedp.Click(chromedp.CSS(`.cm-content`)),
		chromedp.KeyEvent("\n// kept across reloads\n"),
		chromedp.Sleep(500*time.Millisecond))
	do("visiting another local server",
		chromedp.Navigate(other.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`p`)))
	otherMu.Lock()
	saw := strings.Join(otherSaw, "\n")
	otherMu.Unlock()
	if saw == "" || strings.Contains(saw, srv.Token()) || strings.Contains(strings.ToLower(saw), "cookie") {
		t.Errorf("the other local server received:\n%s\nwant requests with no cookie and no token", saw)
	}
	do("coming back without the token in the address",
		chromedp.Navigate(base(srv)+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	keptAfterNav := count(`document.querySelector('.cm-content').textContent.includes('kept across reloads') ? 1 : 0`)
	do("reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	keptAfterReload := count(`document.querySelector('.cm-content').textContent.includes('kept across reloads') ? 1 : 0`)
	if keptAfterNav != 1 || keptAfterReload != 1 {
		t.Errorf("edited code kept: after leaving and coming back %d, after a reload %d; want both", keptAfterNav, keptAfterReload)
	}
	if n := count(`document.body.dataset.protectionsOff === "0" && document.getElementById('sandbox').textContent === "sandbox on" ? 1 : 0`); n != 1 && os.Getenv("CI") == "true" {
		t.Errorf("the page shows %q: under CI every protection is expected on", evalString(t, ctx, `document.getElementById('sandbox').textContent`))
	}
	if n := count(`document.getElementById('sandbox').title.split("\n").length`); n < 6 {
		t.Errorf("the sandbox indicator lists %d protections, want 6", n)
	}
	favicon, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/favicon.ico").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || favicon != 200 {
		t.Errorf("favicon: status %d (%v)", favicon, err)
	}

	// Stop: a snippet that never returns is stopped from the page.
	setCode := func(code string) chromedp.Action[chromedp.Void] {
		b, _ := json.Marshal(code)
		return chromedp.Evaluate[chromedp.Void](`window.tuneEditor.setText(` + string(b) + `)`)
	}
	runs := count(`Number(document.body.dataset.runs || 0)`)
	do("running a snippet that spins",
		setCode("package main\n\nfunc Spin(s string) int {\n\tfor {\n\t}\n}\n"),
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitEnabled(chromedp.CSS(`#stop`)),
		chromedp.WaitVisible(chromedp.CSS(`#status.busy`)))
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(evalString(t, ctx, `document.getElementById('status').textContent`), "running"); {
		if time.Now().After(deadline) {
			t.Fatal("the spinning snippet never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopAt := time.Now()
	do("pressing Stop",
		chromedp.Click(chromedp.CSS(`#stop`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="`+strconv.Itoa(runs+1)+`"]`)))
	stopTook := time.Since(stopAt)
	stoppedOut := evalString(t, ctx, `document.getElementById('tab-output').textContent`)
	stoppedResult := evalString(t, ctx, `document.getElementById('result').textContent`)
	if stopTook > 5*time.Second || !strings.Contains(stoppedOut, "stopped from the page") || !strings.Contains(stoppedOut, "signal: killed") ||
		strings.Contains(stoppedOut, "exit code") || !strings.Contains(stoppedResult, "did not return: stopped") {
		t.Errorf("after Stop (%v), the Output tab says: %.500s", stopTook, stoppedOut)
	}

	// A panic: its stack links the panicking line, which the editor marks.
	do("running a snippet that panics",
		setCode("package main\n\nfunc Boom(s string) int {\n\tvar m map[string]int\n\tm[s] = 1\n\treturn 0\n}\n"),
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="`+strconv.Itoa(runs+2)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#panic a.stack-line`)))
	panicLink := count(`document.querySelectorAll('#panic a.stack-line[data-line="5"]').length`)
	panicMark := count(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('tune-error')) + 1`)
	panicText := evalString(t, ctx, `document.getElementById('panic').textContent`)
	do("following the link", chromedp.Click(chromedp.CSS(`#panic a.stack-line[data-line="5"]`)))
	activeLine := count(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('cm-activeLine')) + 1`)
	if panicLink == 0 || panicMark != 5 || activeLine != 5 {
		t.Errorf("panic: %d links to line 5, editor marks line %d, the link went to line %d; want line 5 everywhere\n%s", panicLink, panicMark, activeLine, panicText)
	}
	if strings.Contains(panicText, "zerogc-tune-") || strings.Contains(panicText, "main.") || strings.Contains(panicText, "/tmp/") {
		t.Errorf("the panic stack shows temporary paths or the harness's frames:\n%s", panicText)
	}

	// Narrow windows: at 1024 px no tab is clipped and Run stays on one
	// line; at 800 px every control of the bar is on the screen.
	for _, width := range []int64{1024, 800} {
		do(fmt.Sprintf("resizing to %d px", width), chromedp.EmulateViewport(width, 760), chromedp.Sleep(300*time.Millisecond))
		bad := evalString(t, ctx, `(() => {
			const out = [];
			const W = document.documentElement.clientWidth;
			const nav = document.querySelector('.tabs').getBoundingClientRect();
			for (const b of document.querySelectorAll('.tabs button')) {
				const r = b.getBoundingClientRect();
				if (r.right > nav.right + 0.5 || r.bottom > nav.bottom + 0.5 || b.scrollWidth > b.clientWidth + 1) out.push('tab ' + b.textContent + ' clipped');
			}
			for (const b of document.querySelectorAll('.bar button:not([hidden]), .bar select')) {
				const r = b.getBoundingClientRect();
				if (r.right > W + 0.5 || r.left < 0) out.push(b.textContent.trim() + ' off-screen (right ' + r.right + ' of ' + W + ')');
			}
			const run = document.getElementById('run');
			if (run.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(run).lineHeight || 20)) out.push('Run wraps');
			return out.join('; ');
		})()`)
		if bad != "" {
			t.Errorf("at %d px: %s", width, bad)
		}
	}

	// Issue 17: a benchmark A/B from the page (the escape sample kept as
	// the baseline, then the noalloc sample), and issue 16: the noalloc
	// verdict in the Escapes tab.
	pick := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('sample'); s.value = "` + id + `"; s.dispatchEvent(new Event('change')); })()`)
	}
	runs = count(`Number(document.body.dataset.runs || 0)`)
	do("benching the escape sample",
		chromedp.EmulateViewport(1500, 920),
		pick("escape"),
		chromedp.Click(chromedp.CSS(`#bench`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="`+strconv.Itoa(runs+1)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#keep-baseline`)))
	do("keeping it as the baseline and benching the noalloc sample",
		chromedp.Click(chromedp.CSS(`#keep-baseline`)),
		pick("noalloc"),
		chromedp.Click(chromedp.CSS(`#bench`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="`+strconv.Itoa(runs+2)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#bench-ab`)))
	abRow := evalString(t, ctx, `(document.querySelector('#bench-ab tr[data-unit="allocs/op"]') || {}).textContent || ""`)
	abBetter := count(`document.querySelectorAll('#bench-ab tr[data-unit="allocs/op"] td.sig.better').length`)
	if abBetter != 1 || !strings.Contains(abRow, "p=0.002") || !strings.Contains(abRow, "-99.") {
		t.Errorf("A/B allocs/op row %q: want a significant drop of over 99%% with p=0.002", abRow)
	}
	benchPNG, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	do("opening the Escapes tab after the bench", tab("escapes"), chromedp.WaitVisible(chromedp.CSS(`#noalloc-verdict .fn`)))
	verdict := count(`document.querySelectorAll('#noalloc-verdict .fn').length`)
	runCan := count(`document.querySelectorAll('#noalloc-verdict .fn[data-func="Run"][data-ok="false"]').length`)
	if verdict < 3 || runCan != 1 {
		t.Errorf("noalloc verdict: %d functions, Run marked as able to allocate %d times; want the sample's 3 functions and Run (string(out)) able to", verdict, runCan)
	}
	if out := os.Getenv("TUNE_SCREENSHOT_BENCH"); out != "" {
		if err := os.WriteFile(out, benchPNG, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	pageErrors()
	if result != "15000000" {
		t.Errorf("returned value shown = %q, want 15000000", result)
	}
	if asmFuncs == 0 || asmRun != 1 || asmCalls == 0 {
		t.Errorf("Assembly tab: %d functions, %d named Run, %d calls in Run; want Run with its calls", asmFuncs, asmRun, asmCalls)
	}
	if heapMarks == 0 {
		t.Error("Escapes tab: no heap decision for line 21 (make([]int, 3000))")
	}
	if heapLine != 21 {
		t.Errorf("editor: first line marked as escaping is %d, want 21", heapLine)
	}
	if liveEvents == 0 {
		t.Error("no sample or cycle reached the page through the event stream while the snippet ran")
	}
	if gcLines < 1 {
		t.Errorf("GC chart drew %d GC lines, want at least 1", gcLines)
	}
	out := os.Getenv("TUNE_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "tune.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
