// app.js: the page of zerogc tune. It talks to the JSON API of the server
// that serves it (POST /api/run, POST /api/stop, GET /api/samples,
// GET /api/info, GET /api/events).
//
// The API's token arrives in the fragment of the page's address
// (#token=...), which the browser never sends to a server. The page keeps
// it in memory and in sessionStorage (so a reload keeps it), removes it
// from the address bar, and sends it in the X-Tune-Token header of every
// API request, the event stream included (read with fetch, since
// EventSource cannot send a header). No cookie ever carries it.
"use strict";
(function () {
  // The fragment as the page was opened: besides the token it may carry a
  // shared experiment (x=..., read by readShared below).
  const startHash = location.hash;
  const $ = (id) => document.getElementById(id);

  // ---- the token
  const tokenKey = "zerogc-tune-token";
  let token = "";
  {
    const m = /(?:^#|&)token=([0-9A-Za-z_-]+)/.exec(location.hash);
    if (m) {
      token = m[1];
      try { sessionStorage.setItem(tokenKey, token); } catch (e) { /* private mode: memory only */ }
      history.replaceState(null, "", location.pathname);
    } else {
      try { token = sessionStorage.getItem(tokenKey) || ""; } catch (e) { token = ""; }
    }
  }
  // api calls the server's API with the token in its header.
  function api(path, opts) {
    opts = Object.assign({}, opts || {});
    opts.headers = Object.assign({ "X-Tune-Token": token }, opts.headers || {});
    opts.credentials = "omit";
    return fetch(path, opts);
  }

  // el builds a DOM element; children are nodes or strings (as text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }
  function fmtBytes(n) {
    if (n === undefined || n === null) return "–";
    const u = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    let v = n;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + " " + u[i];
  }
  const fmtInt = (n) => (n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US"));
  const fmtMs = (n) => (n < 1 ? n.toFixed(3) : n < 100 ? n.toFixed(2) : n.toFixed(0)) + " ms";

  // ---- state
  let mode = "release";
  let samples = [];
  let running = false;
  let live = null; // {samples, cycles, callStart, callEnd} while a run streams
  let last = null; // the last Result
  let liveEvents = 0; // samples and cycles streamed during the current run
  const editor = TuneEditor.create($("editor"), "", run);
  window.tuneEditor = editor; // for the browser test

  // ---- the draft: the code, input, mode and knobs survive a reload, and
  // closing the browser (localStorage, per origin: per tune address)
  const draftKey = "zerogc-tune-draft";
  let draftTimer = 0;
  function saveDraft() {
    clearTimeout(draftTimer);
    draftTimer = 0;
    try { localStorage.setItem(draftKey, JSON.stringify(experiment())); } catch (e) { /* storage full or off */ }
  }
  function saveDraftSoon() { if (!draftTimer) draftTimer = setTimeout(saveDraft, 300); }
  function loadDraft() {
    // (Earlier versions kept the draft in sessionStorage.)
    try { return JSON.parse(localStorage.getItem(draftKey) || sessionStorage.getItem(draftKey) || "null"); } catch (e) { return null; }
  }
  for (const ev of ["input", "keyup", "paste", "cut", "drop"]) $("editor").addEventListener(ev, saveDraftSoon);
  $("input").addEventListener("input", saveDraftSoon);
  window.addEventListener("pagehide", saveDraft);
  const gotoLine = (n) => editor.goto(n);
  const lineLink = (n, label) => el("a", { class: "line", onclick: () => gotoLine(n), title: "show line " + n + " in the editor" }, label || "line " + n);

  // ---- tabs
  const tabs = [...document.querySelectorAll(".tabs button")];
  function showTab(name) {
    for (const t of tabs) t.classList.toggle("on", t.dataset.tab === name);
    for (const p of document.querySelectorAll(".panel")) p.classList.toggle("on", p.id === "tab-" + name);
    if (name === "gc") drawChart();
  }
  for (const t of tabs) t.addEventListener("click", () => showTab(t.dataset.tab));
  function setCount(tab, n) {
    const b = tabs.find((t) => t.dataset.tab === tab);
    let c = b.querySelector(".count");
    if (n === null) { if (c) c.remove(); return; }
    if (!c) { c = el("span", { class: "count" }); b.append(c); }
    c.textContent = n;
  }

  // ---- mode, samples, save, open
  for (const b of document.querySelectorAll("#mode button")) {
    b.addEventListener("click", () => setMode(b.dataset.mode));
  }
  function setMode(m) {
    mode = m === "debug" ? "debug" : "release";
    for (const b of document.querySelectorAll("#mode button")) b.classList.toggle("on", b.dataset.mode === mode);
    saveDraftSoon();
  }
  function load(exp, fileName) {
    const sel = $("sample");
    let opt = sel.querySelector('option[value=""]');
    if (fileName) {
      if (!opt) { opt = el("option", { value: "" }); sel.prepend(opt); }
      opt.textContent = "opened: " + fileName;
      sel.value = "";
    } else if (opt) {
      opt.remove();
    }
    editor.setText(exp.code || "");
    $("input").value = exp.input || "";
    setMode(exp.mode || "release");
    if (exp.knobs) setKnobs(exp.knobs);
    saveDraft();
  }
  $("sample").addEventListener("change", () => {
    const s = samples.find((x) => x.id === $("sample").value);
    if (s) load(s);
  });
  $("save").addEventListener("click", () => {
    const exp = experiment();
    const blob = new Blob([JSON.stringify(exp, null, 2) + "\n"], { type: "application/json" });
    const a = el("a", { href: URL.createObjectURL(blob), download: "experiment.tune.json" });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  });
  $("open").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", async () => {
    const f = $("file").files[0];
    if (!f) return;
    const text = await f.text();
    $("file").value = "";
    if (/\.json$/i.test(f.name)) {
      try {
        const exp = JSON.parse(text);
        if (typeof exp.code !== "string") throw new Error("no \"code\" field");
        load(exp, f.name);
      } catch (e) {
        setStatus("cannot open " + f.name + ": " + e.message, "err");
      }
    } else {
      load({ code: text, input: $("input").value, mode }, f.name);
    }
  });

  function setStatus(text, cls) {
    const s = $("status");
    s.textContent = text;
    s.className = "status" + (cls ? " " + cls : "");
  }

  // ---- live events: server-sent events read with fetch, so that the
  // request carries the token header (EventSource cannot).
  function onEvent(type, data) {
    const ev = JSON.parse(data);
    if (type === "status") {
      toolchainStatus(ev.status);
      if (ev.status === "building") setStatus("building…", "busy");
      if (ev.status === "checking") setStatus("checking which functions can allocate…", "busy");
      if (ev.status === "running") {
        setStatus("running…", "busy");
        live = { samples: [], cycles: [], callStartMs: null, callEndMs: null };
        drawChart();
      }
    } else if (type === "sample" && live) {
      live.samples.push(ev.sample);
      liveEvents++;
      scheduleDraw();
    } else if (type === "cycle" && live) {
      live.cycles.push(ev.cycle);
      liveEvents++;
      setCount("gc", live.cycles.length);
      scheduleDraw();
    }
  }
  async function connectEvents(onOpen) {
    for (let delay = 500; ; delay = Math.min(delay * 2, 8000)) {
      try {
        const r = await api("/api/events", { headers: { Accept: "text/event-stream" }, cache: "no-store" });
        if (r.status === 403) { setStatus("the server refused the token: open the address zerogc tune printed", "err"); return; }
        if (!r.ok || !r.body) throw new Error("status " + r.status);
        delay = 500;
        if (onOpen) { onOpen(); onOpen = null; }
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let type = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) type = line.slice(7);
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (data) onEvent(type, data);
          }
        }
      } catch (e) { /* reconnect below */ }
      await new Promise((res) => setTimeout(res, delay));
    }
  }
  let drawPending = false;
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; drawChart(); });
  }

  // ---- run
  // run builds and runs the snippet; bench runs its benchmarks instead,
  // compared with the kept baseline if there is one.
  // extra, if given, is merged into the request (such as {go: "go1.27.3"});
  // run returns the result, or undefined when the request was refused.
  async function run(bench, extra) {
    bench = bench === true;
    if (running) return;
    running = true;
    $("run").disabled = true;
    $("bench").disabled = true;
    $("stop").disabled = false;
    saveDraft();
    setStatus("building…", "busy");
    editor.clearMarks();
    live = { samples: [], cycles: [] };
    runSeq++;
    liveEvents = 0;
    setCount("gc", null);
    drawChart();
    const t0 = performance.now();
    let res;
    try {
      const r = await api("/api/run", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign(bench
          ? { code: editor.getText(), mode, bench: true, baseline: baseline ? baseline.bench : undefined, knobs: knobsOrUndefined() }
          : { code: editor.getText(), input: $("input").value, mode, knobs: knobsOrUndefined() }, extra || {})),
      });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || r.statusText);
      res = body;
    } catch (e) {
      setStatus(e.message, "err");
      renderOutput({ error: e.message, stdout: "", stderr: "", refused: true });
      markKnobError(e.message);
      showTab("output");
      running = false;
      $("run").disabled = false;
      $("bench").disabled = false;
      $("stop").disabled = true;
      live = null;
      return;
    }
    running = false;
    $("run").disabled = false;
    $("bench").disabled = false;
    $("stop").disabled = true;
    last = res;
    live = null;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    setStatus(res.error ? res.error : "done in " + secs + " s (build " + (res.buildMs / 1000).toFixed(1) + " s, run " + (res.runMs / 1000).toFixed(2) + " s)", res.error ? "err" : "ok");
    render(res);
    if (bench && res.bench) showTab("bench");
    document.body.dataset.liveEvents = String(liveEvents);
    document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
    return res;
  }
  $("run").addEventListener("click", () => run(false));
  $("bench").addEventListener("click", () => run(true));
  $("stop").addEventListener("click", async () => {
    $("stop").disabled = true;
    setStatus("stopping…", "busy");
    try { await api("/api/stop", { method: "POST" }); } catch (e) { setStatus("cannot stop: " + e.message, "err"); }
  });

  function render(res) {
    renderOutput(res);
    renderKnobs(res);
    renderAsm(res);
    renderEscapes(res);
    renderLayout(res);
    renderAlloc(res);
    renderBench(res);
    setCount("gc", (res.cycles || []).length || null);
    drawChart();
    renderCycles(res);
    const marks = [];
    for (const e of res.compileErrors || []) {
      marks.push({ line: e.line, col: e.col, severity: "error", message: e.message, cls: "error", source: "compiler" });
    }
    for (const d of res.escapes || []) {
      if (res.inlining && (d.kind === "inline" || d.kind === "noinline")) continue; // marked below, with the cost
      const sev = d.kind === "heap" || d.kind === "moved" ? "warning" : "info";
      const cls = d.kind === "heap" ? "heap" : d.kind === "moved" ? "moved" : null;
      const why = d.chain && d.chain.length ? "\n" + d.chain.join("\n") : "";
      marks.push({ line: d.line, col: d.col, severity: sev, message: d.message + why, cls, source: "escape analysis" });
    }
    for (const b of res.boundsChecks || []) {
      marks.push({ line: b.line, col: b.col, severity: "info", message: (b.kind === "slice" ? "slice bounds check (IsSliceInBounds)" : "index bounds check (IsInBounds)") + " kept by the compiler", cls: "bce", source: "bounds check" });
    }
    for (const i of res.inlining || []) {
      const cost = i.cost >= 0 ? "cost " + i.cost + (i.budget >= 0 ? " of budget " + i.budget : "") : "";
      marks.push({ line: i.line, col: 1, severity: "info", message: i.canInline ? "can inline " + i.func + " (" + cost + ")" : "cannot inline " + i.func + ": " + i.reason, cls: i.canInline ? "inline" : "noinline", source: "inlining" });
    }
    if (res.panicLine) {
      marks.push({ line: res.panicLine, col: 1, severity: "error", message: (res.panic || "panic").split("\n")[0], cls: "error", source: "panic" });
    }
    allocMarks(res, marks);
    editor.mark(marks);
    afterRender(res);
    if (res.compileErrors && res.compileErrors.length || res.panic) showTab("output");
  }

  // ---- Output
  function renderOutput(res) {
    const p = $("tab-output");
    p.replaceChildren();
    if (res.error) p.append(el("div", { class: "banner err" }, res.error));
    else p.append(el("div", { class: "banner ok" }, "ran " + (res.entry || "") + "(input) in " + fmtMs(res.alloc ? res.alloc.durationMs : res.runMs)));
    if (res.compileErrors && res.compileErrors.length) {
      p.append(el("h3", {}, "Compile errors"));
      const ul = el("ul", { class: "errors" });
      for (const e of res.compileErrors) ul.append(el("li", {}, lineLink(e.line, "snippet.go:" + e.line + ":" + e.col), " ", e.message));
      p.append(ul);
    }
    if (res.buildOutput && !(res.compileErrors && res.compileErrors.length)) {
      p.append(el("h3", {}, "go build"), el("pre", {}, res.buildOutput));
    }
    const ran = res.entry && res.runMs > 0;
    if (ran) {
      const dl = el("dl", { class: "kv" });
      dl.append(el("dt", {}, "called"), el("dd", {}, res.entry + "(" + JSON.stringify($("input").value) + ")"));
      let returned, tag = null;
      if (res.results && res.results.length) { returned = res.results.join(", "); tag = childTag(); }
      else if (res.panic) returned = "(panicked)";
      else if (res.killed) returned = "— (the call did not return: " + (res.killed === "stopped" ? "stopped" : "killed at the " + (res.killed === "memory" ? "memory" : "time") + " limit") + ")";
      else if (res.error) returned = "— (the call did not return)";
      else { returned = "(no result: the function returns nothing)"; tag = childTag(); }
      dl.append(el("dt", {}, "returned"), el("dd", {}, el("span", { id: "result" }, returned), tag));
      dl.append(el("dt", {}, "mode"), el("dd", {}, res.mode === "debug" ? "Debug (-gcflags=all=-N -l)" : "Release"));
      if (res.goVersion) dl.append(el("dt", {}, "Go"), el("dd", { id: "go-version" }, res.goVersion));
      dl.append(el("dt", {}, "ran"), el("dd", {}, fmtMs(res.runMs), tuneTag()));
      if (res.peakMemory) dl.append(el("dt", {}, "peak memory"), el("dd", {}, fmtBytes(res.peakMemory) + " resident, all processes", tuneTag()));
      if (res.signal) dl.append(el("dt", {}, "ended by"), el("dd", { id: "ended" }, "signal: " + res.signal + (res.killed ? " (sent by tune: " + res.killed + ")" : ""), tuneTag()));
      else if (res.exitCode) dl.append(el("dt", {}, "exit code"), el("dd", {}, String(res.exitCode), tuneTag()));
      p.append(dl);
    }
    if (res.panic) p.append(el("h3", {}, "Panic ", childTag()), stackPre(res.panic, "panic"));
    if (ran || res.stdout) p.append(el("h3", {}, "stdout" + (res.stdoutTruncated ? " (truncated)" : "")), el("pre", { id: "stdout", class: res.stdout ? "" : "empty" }, res.stdout || "(nothing)"));
    if (res.stderr) p.append(el("h3", {}, "stderr" + (res.stderrTruncated ? " (truncated)" : "")), stackPre(res.stderr));
  }
  // stackPre shows a stack trace with each snippet.go:LINE linked to the
  // editor; the line that panicked is marked.
  function stackPre(text, id) {
    const pre = el("pre", id ? { id } : {});
    const re = /snippet\.go:(\d+)/g;
    let at = 0, m;
    while ((m = re.exec(text))) {
      pre.append(text.slice(at, m.index));
      const n = Number(m[1]);
      pre.append(el("a", { class: "line stack-line", "data-line": n, onclick: () => gotoLine(n), title: "show line " + n + " in the editor" }, m[0]));
      at = m.index + m[0].length;
    }
    pre.append(text.slice(at));
    return pre;
  }
  // childTag marks a figure the child reports about itself (the snippet
  // shares its process and can forge it); tuneTag one tune measured.
  function childTag() {
    return el("span", { class: "tag child", title: "reported by the child process itself: the snippet runs in the same process and could forge it" }, "child-reported");
  }
  function tuneTag() {
    return el("span", { class: "tag tune", title: "measured by tune from outside the child" }, "measured by tune");
  }

  // ---- Assembly
  function renderAsm(res) {
    const p = $("tab-asm");
    p.replaceChildren();
    const fns = res.assembly || [];
    setCount("asm", fns.length || null);
    if (!fns.length) { p.append(el("p", { class: "empty" }, "No assembly: the snippet did not build.")); return; }
    const blocks = [];
    if (fns.length > 1) {
      p.append(el("div", { class: "filters" }, "Functions: ", fns.map((f, i) => [i ? " · " : "", el("a", { class: "line", onclick: () => blocks[i].scrollIntoView({ block: "start" }) }, f.name)])));
    }
    for (const f of fns) {
      const t = el("table", { class: "asm" });
      for (const l of f.lines) {
        if (l.kind === "source") {
          const where = l.file === "snippet.go" ? String(l.line) : l.file + ":" + l.line;
          t.append(el("tr", { class: "src" },
            el("td", { class: "srcline", colspan: 2, onclick: l.file === "snippet.go" ? () => gotoLine(l.line) : null, title: l.file === "snippet.go" ? "show in the editor" : "inlined from the standard library" }, where),
            el("td", { colspan: 2 }, l.text || "")));
          continue;
        }
        let args;
        if (l.target) args = el("span", { class: "jmp" }, l.target);
        else if (l.call) args = el("span", { class: "call" + (/^runtime\.(newobject|makeslice|mallocgc|growslice|convT|concatstring|makemap|slicebytetostring|rawstring)/.test(l.call) ? " alloc" : "") }, l.args);
        else args = l.args || "";
        t.append(el("tr", {},
          el("td", { class: "lbl" }, l.label ? l.label + ":" : ""),
          el("td", { class: "pc" }, String(l.pc)),
          el("td", { class: "op" }, l.op),
          el("td", {}, args)));
      }
      const block = el("div", { class: "asm-fn", "data-fn": f.name },
        el("h3", {}, "func " + f.name, el("span", { class: "meta" }, "line " + f.line + " · " + f.size + " bytes · args " + f.args + " · locals " + f.locals)), t);
      blocks.push(block);
      p.append(block);
    }
  }

  // ---- Escapes
  let escFilter = { heap: true, moved: true, leak: true, stack: true, inline: true, inlined: true, noinline: true, other: true, devirtualized: true };
  function renderEscapes(res) {
    const p = $("tab-escapes");
    p.replaceChildren();
    const ds = res.escapes || [];
    const heap = ds.filter((d) => d.kind === "heap" || d.kind === "moved").length;
    setCount("escapes", ds.length ? heap + "/" + ds.length : null);
    if (!ds.length) { p.append(el("p", { class: "empty" }, "No decisions: the snippet did not build.")); return; }
    p.append(renderVerdict(res.noalloc));
    const groups = [["heap", "escapes"], ["moved", "moved"], ["leak", "leaks"], ["stack", "stays"], ["inline", "can inline"], ["inlined", "inlined"], ["noinline", "cannot inline"]];
    const f = el("div", { class: "filters" }, "Show: ");
    for (const [k, label] of groups) {
      const cb = el("input", { type: "checkbox", checked: escFilter[k], onchange: (e) => { escFilter[k] = e.target.checked; renderEscapes(res); } });
      f.append(el("label", {}, cb, " " + label + " (" + ds.filter((d) => d.kind === k).length + ")"));
    }
    p.append(f);
    for (const d of ds) {
      if (escFilter[d.kind] === false) continue;
      const box = el("div", { class: "esc", "data-line": d.line, "data-kind": d.kind },
        el("span", { class: "badge " + d.kind }, d.kind), lineLink(d.line, "line " + d.line + ":" + d.col), "  ", d.message,
        d.func ? el("span", { class: "empty" }, " in " + d.func) : null, measuredTag(res, d));
      if (d.chain && d.chain.length) {
        box.append(el("details", {}, el("summary", {}, "why (" + d.chain.length + " steps)"), el("ol", {}, d.chain.map((c) => el("li", {}, c)))));
      }
      p.append(box);
    }
  }

  // posLink links "snippet.go:N" to the editor line; other positions are text.
  function posLink(pos) {
    const m = /^snippet\.go:(\d+)$/.exec(pos || "");
    return m ? lineLink(Number(m[1]), pos) : el("code", {}, pos || "?");
  }
  // renderVerdict shows the noalloc check of each function: proven not to
  // allocate, or each way it can, with the call chain and the compiler's why.
  function renderVerdict(v) {
    const box = el("div", { class: "verdict", id: "noalloc-verdict" });
    if (!v) return box;
    box.append(el("h3", {}, "Can it allocate? (the check of zerogc check, on every function; " + fmtMs(v.ms || 0) + ")"));
    if (v.error) { box.append(el("p", { class: "empty" }, "The noalloc check could not be made: " + v.error)); return box; }
    for (const f of v.funcs || []) {
      const row = el("div", { class: "fn", "data-func": f.func, "data-ok": String(f.ok) },
        f.ok ? el("span", { class: "ok" }, "✓ ") : el("span", { class: "no" }, "✗ "),
        lineLink(f.line, f.func), f.ok ? " provably does not allocate" : " can allocate: " + ((f.findings || []).length + (f.more || 0)) + " ways");
      if (!f.ok) {
        const ul = el("ul");
        for (const fd of f.findings || []) {
          const chain = [f.func].concat((fd.chain || []).map((c) => c.func)).join(" → ");
          const li = el("li", {}, posLink(fd.pos), " ", fd.what, el("span", { class: "empty" }, " (" + fd.kind + ", in " + chain + ")"));
          if (fd.compiler && fd.compiler.length) li.append(el("details", {}, el("summary", {}, "why"), fd.compiler.map((c) => el("pre", {}, c))));
          ul.append(li);
        }
        if (f.more) ul.append(el("li", { class: "empty" }, f.more + " more"));
        row.append(el("details", {}, el("summary", {}, "how"), ul));
      }
      box.append(row);
    }
    return box;
  }

  // ---- Bench
  const baselineKey = "zerogc-tune-baseline";
  let baseline = null; // {bench, label}: the kept run
  try { baseline = JSON.parse(sessionStorage.getItem(baselineKey) || "null"); } catch (e) { baseline = null; }
  const num = (v) => (v === undefined || v === null ? "–" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  // spread is benchstat's "±x%": the confidence interval around the median.
  const spread = (s) => (s && s.median ? " ±" + (100 * Math.max(s.hi - s.median, s.median - s.lo) / s.median).toFixed(0) + "%" : "");
  function renderBench(res) {
    const p = $("tab-bench");
    if (!res.bench) return; // a plain run keeps the last benchmark results
    p.replaceChildren();
    const b = res.bench;
    setCount("bench", b.benchmarks.length);
    const keep = el("button", { type: "button", id: "keep-baseline", onclick: () => {
      baseline = { bench: b, label: res.mode + ", " + new Date().toLocaleTimeString() };
      try { sessionStorage.setItem(baselineKey, JSON.stringify(baseline)); } catch (e) { /* memory only */ }
      renderBench(res);
    } }, "Keep as baseline");
    const clear = el("button", { type: "button", onclick: () => { baseline = null; try { sessionStorage.removeItem(baselineKey); } catch (e) { /* */ } renderBench(res); } }, "Forget baseline");
    p.append(el("div", { class: "bench-actions" }, keep, baseline ? clear : null,
      el("span", { class: "empty" }, baseline ? "baseline: " + baseline.label : "no baseline kept", " · ", b.count + " samples × " + b.benchtime + " · " + res.mode)));
    const t = el("table", { class: "bench" }, el("tr", {}, el("th", {}, "benchmark"), el("th", { class: "num" }, "ns/op"), el("th", { class: "num" }, "B/op"), el("th", { class: "num" }, "allocs/op"), el("th", {}, "samples (ns/op)")));
    for (const bm of b.benchmarks) {
      t.append(el("tr", {}, el("td", {}, bm.name),
        el("td", { class: "num" }, num(bm.nsPerOp.median) + spread(bm.nsPerOp)),
        el("td", { class: "num" }, num(bm.bytesPerOp.median)), el("td", { class: "num" }, num(bm.allocsPerOp.median)),
        el("td", { class: "empty" }, bm.samples.map((s) => num(s.nsPerOp)).join(" "))));
    }
    p.append(t);
    if (res.comparison && res.comparison.length) {
      p.append(el("h3", {}, "A/B: baseline → this run (benchstat's statistics: medians, Mann-Whitney U test, α = 0.05)"));
      const c = el("table", { class: "bench", id: "bench-ab" }, el("tr", {}, el("th", {}, "benchmark"), el("th", {}, "unit"), el("th", { class: "num" }, "baseline"), el("th", { class: "num" }, "this run"), el("th", { class: "num" }, "delta"), el("th", {}, "p")));
      for (const d of res.comparison) {
        const cls = d.significant ? (d.deltaPct < 0 ? "sig better" : "sig worse") : "";
        c.append(el("tr", { "data-unit": d.unit }, el("td", {}, d.benchmark), el("td", {}, d.unit),
          el("td", { class: "num" }, num(d.base.median) + spread(d.base)), el("td", { class: "num" }, num(d.new.median) + spread(d.new)),
          el("td", { class: "num " + cls }, d.delta), el("td", {}, d.note)));
      }
      p.append(c);
    }
  }

  // ---- Layout
  const palette = ["#4c8df6", "#2e9b57", "#e08a1e", "#8a5cd6", "#d9473a", "#1ba3a3", "#b0772c", "#c2469b"];
  function renderLayout(res) {
    const p = $("tab-layout");
    p.replaceChildren();
    const ls = res.layouts || [];
    setCount("layout", ls.length || null);
    if (!ls.length) { p.append(el("p", { class: "empty" }, "The snippet declares no top-level struct type (generic types are not shown).")); return; }
    p.append(el("p", {}, childTag(), " Read with reflect inside the child."));
    for (const s of ls) {
      const pad = s.fields.reduce((a, f) => a + f.padBefore, 0) + s.trailingPad;
      const box = el("div", { class: "struct" }, el("h3", {}, "type " + s.name + " struct", el("span", { class: "empty" }, " — size " + s.size + ", align " + s.align + ", padding " + pad + " byte" + (pad === 1 ? "" : "s"))));
      const bytes = el("div", { class: "bytes", title: "one cell per byte" });
      s.fields.forEach((f, i) => {
        for (let b = 0; b < f.padBefore; b++) bytes.append(el("span", { class: "pad", title: "padding" }, ""));
        for (let b = 0; b < f.size; b++) bytes.append(el("span", { style: "background:" + palette[i % palette.length], title: f.name + " " + f.type }, b === 0 ? f.name.slice(0, 2) : ""));
      });
      for (let b = 0; b < s.trailingPad; b++) bytes.append(el("span", { class: "pad", title: "trailing padding" }, ""));
      if (s.size <= 256) box.append(bytes);
      const t = el("table", {}, el("tr", {}, el("th", { class: "num" }, "offset"), el("th", {}, "field"), el("th", {}, "type"), el("th", { class: "num" }, "size"), el("th", { class: "num" }, "align")));
      let end = 0;
      for (const f of s.fields) {
        if (f.padBefore) t.append(el("tr", { class: "padrow" }, el("td", { class: "num" }, String(end)), el("td", { colspan: 2 }, "padding"), el("td", { class: "num" }, String(f.padBefore)), el("td", {}, "")));
        t.append(el("tr", {}, el("td", { class: "num" }, String(f.offset)), el("td", {}, f.name), el("td", { style: "font-family:var(--mono)" }, f.type), el("td", { class: "num" }, String(f.size)), el("td", { class: "num" }, String(f.align))));
        end = f.offset + f.size;
      }
      if (s.trailingPad) t.append(el("tr", { class: "padrow" }, el("td", { class: "num" }, String(end)), el("td", { colspan: 2 }, "trailing padding (size rounds up to align " + s.align + ")"), el("td", { class: "num" }, String(s.trailingPad)), el("td", {}, "")));
      box.append(t);
      p.append(box);
    }
  }

  // ---- Allocations
  function renderAlloc(res) {
    const p = $("tab-alloc");
    p.replaceChildren();
    const a = res.alloc;
    if (!a) { setCount("alloc", null); p.append(el("p", { class: "empty" }, "No allocation data: the call did not complete.")); return; }
    setCount("alloc", fmtBytes(a.bytes));
    p.append(el("p", {}, childTag(), " These totals and sites come from runtime.MemStats and the heap profile inside the child."));
    p.append(el("div", { class: "big" },
      el("div", {}, el("b", { id: "alloc-bytes" }, fmtBytes(a.bytes)), "allocated by the call"),
      el("div", {}, el("b", {}, fmtInt(a.objects)), "heap objects"),
      el("div", {}, el("b", {}, String(a.gcs)), "GC cycles during the call"),
      el("div", {}, el("b", {}, fmtMs(a.durationMs)), "duration")));
    if (a.newThreads > 0) {
      p.append(el("div", { class: "banner err" }, "The runtime started " + a.newThreads + " thread" + (a.newThreads === 1 ? "" : "s") + " during the call; its bookkeeping (about 5 KiB a thread) is counted in these totals. Run again for the call's own figures."));
    }
    p.append(el("p", { class: "empty" }, "Totals from runtime.MemStats before and after the call. Sites from the heap profile (MemProfileRate = 1, every allocation), by the snippet line that allocated or called the allocating function. Tiny allocations (under 16 bytes, without pointers) share 16-byte blocks: the profile counts blocks, the totals count allocations. Recording every allocation slows allocation-heavy code down, and the duration includes that."));
    const sites = a.sites || [];
    if (!sites.length) { p.append(el("p", {}, "No allocation site in the snippet.")); return; }
    const max = Math.max(...sites.map((s) => s.bytes));
    const t = el("table", {}, el("tr", {}, el("th", {}, "line"), el("th", {}, "function"), el("th", {}, "via"), el("th", { class: "num" }, "bytes"), el("th", { class: "num" }, "objects")));
    for (const s of sites) {
      t.append(el("tr", {},
        el("td", {}, lineLink(s.line, String(s.line))),
        el("td", {}, s.func), el("td", {}, s.via || "—"),
        el("td", { class: "num bar-cell" }, el("i", { style: "width:" + (100 * s.bytes / max).toFixed(1) + "%" }), el("span", {}, fmtBytes(s.bytes))),
        el("td", { class: "num" }, fmtInt(s.objects))));
    }
    p.append(t);
  }

  // ---- GC chart
  function chartData() {
    if (live) return { samples: live.samples, cycles: live.cycles, callStartMs: null, callEndMs: null };
    if (last) return { samples: last.samples || [], cycles: last.cycles || [], callStartMs: last.callStartMs, callEndMs: last.callEndMs };
    return { samples: [], cycles: [] };
  }
  // drawChart shows chartData() on the uPlot chart (tune/web/src/chart.js,
  // bundled as TuneChart), made when the GC tab is first visible.
  let gcChart = null;
  let chartRun = -1; // the run the chart's zoom belongs to
  let runSeq = 0; // counts runs started, so that a new run resets the zoom
  function drawChart() {
    const box = $("chart");
    if (!box.offsetParent) return; // hidden tab
    const d = chartData();
    if (!gcChart) {
      gcChart = TuneChart.create(box, $("gc-readout"));
      window.tuneChart = gcChart.uplot; // for the browser test
    } else gcChart.resize();
    gcChart.update(d, chartRun !== runSeq || !!live);
    chartRun = runSeq;
    const ss = d.samples;
    const forced = d.cycles.filter((c) => c.forced).length;
    const pause = d.cycles.reduce((a, c) => a + c.pauseMs, 0);
    const sum = $("gc-summary");
    sum.replaceChildren(
      el("b", { id: "gc-count" }, String(d.cycles.length)), d.cycles.length === 1 ? " cycle (" : " cycles (", String(forced), " forced), total pause ", el("b", {}, pause.toFixed(2) + " ms"),
      " · ", String(ss.length), " samples ", childTag(), " · GC lines from the runtime's gctrace (stderr of the child)",
      last && !live ? (last.cyclesComplete ? (last.numGC === 1 ? " · the one cycle the runtime counted is here ✓" : " · all " + last.numGC + " cycles the runtime counted are here ✓") : last.numGC ? " · the runtime counted " + last.numGC : "") : live ? " · live" : "");
    setCount("gc", d.cycles.length || null);
  }
  window.addEventListener("resize", scheduleDraw);

  function renderCycles(res) {
    const p = $("cycles");
    p.replaceChildren();
    const cs = res.cycles || [];
    if (!cs.length) return;
    const t = el("table", {}, el("tr", {}, el("th", { class: "num" }, "#"), el("th", { class: "num" }, "at"), el("th", {}, "kind"), el("th", { class: "num" }, "pause"), el("th", { class: "num" }, "concurrent"), el("th", { class: "num", title: "gctrace's start→end→live in MB; below 4 MB, the runtime/metrics samples: ≈ the heap in use just before the cycle → the live heap just after" }, "heap start → live"), el("th", { class: "num" }, "goal")));
    for (const c of cs) {
      const h = TuneChart.cycleHeap(c, res.samples || []);
      t.append(el("tr", { "data-n": c.n },
        el("td", { class: "num" }, String(c.n)), el("td", { class: "num" }, c.atMs.toFixed(1) + " ms"),
        el("td", {}, c.forced ? (c.byTune ? "forced by tune (profile)" : "forced") : "automatic"),
        el("td", { class: "num" }, c.pauseMs.toFixed(3) + " ms"), el("td", { class: "num" }, c.concurrentMs.toFixed(2) + " ms"),
        el("td", { class: "num", title: h.exact ? "from gctrace" : "gctrace says " + c.heapStartMB + "→" + c.heapEndMB + "→" + c.liveMB + " MB (whole MB); these sizes are the runtime/metrics samples just before and after the cycle" }, h.heap), el("td", { class: "num" }, h.goal)));
    }
    p.append(t);
  }

  // ---- knobs, share link (issue 17, point 8)
  // knobFields are the knob inputs, named by their field of the API's
  // "knobs" object.
  const knobFields = ["gogc", "gomemlimit", "gomaxprocs", "godebug", "gcflags"];
  // getKnobs reads the knob inputs: only the ones set, GOMAXPROCS as a
  // number (the server checks them all and says what is wrong).
  function getKnobs() {
    const k = {};
    for (const f of knobFields) {
      const v = $("knob-" + f).value.trim();
      if (!v) continue;
      k[f] = f === "gomaxprocs" && /^[0-9]+$/.test(v) ? Number(v) : v;
    }
    return k;
  }
  function knobsOrUndefined() {
    const k = getKnobs();
    return Object.keys(k).length ? k : undefined;
  }
  function setKnobs(k) {
    for (const f of knobFields) $("knob-" + f).value = k && k[f] !== undefined && k[f] !== null ? String(k[f]) : "";
    showKnobs();
  }
  function showKnobs() {
    const k = getKnobs();
    const names = { gogc: "GOGC", gomemlimit: "GOMEMLIMIT", gomaxprocs: "GOMAXPROCS", godebug: "GODEBUG", gcflags: "gcflags" };
    const txt = Object.keys(k).map((f) => names[f] + "=" + k[f]).join(" ");
    $("knobs-summary").textContent = txt || "defaults";
    if (txt) $("knobs").open = true;
  }
  for (const f of knobFields) $("knob-" + f).addEventListener("input", () => { showKnobs(); saveDraftSoon(); });
  // experiment is what Save, Share and the kept draft hold.
  function experiment() {
    const e = { tune: 1, code: editor.getText(), input: $("input").value, mode };
    const k = getKnobs();
    if (Object.keys(k).length) e.knobs = k;
    return e;
  }
  // renderKnobs shows the run's knobs as the server applied them and the
  // settings the child reports it ran with.
  // markKnobError outlines the knob a refusal names ("knob GOGC ..."), and
  // clears the outline of the others.
  function markKnobError(msg) {
    const m = /^knobs?:? ?(GOGC|GOMEMLIMIT|GOMAXPROCS|GODEBUG|gcflags)\b/.exec(msg || "");
    for (const f of knobFields) $("knob-" + f).classList.toggle("bad", !!m && m[1].toLowerCase() === f);
    if (m) { $("knobs").open = true; $("knob-" + m[1].toLowerCase()).focus(); }
  }
  function renderKnobs(res) {
    markKnobError("");
    const p = $("tab-output");
    if (!res.knobs && !res.runtime) return;
    const dl = el("dl", { class: "kv", id: "knobs-result" });
    if (res.knobs) {
      const k = res.knobs;
      const parts = [];
      if (k.gogc) parts.push("GOGC=" + k.gogc);
      if (k.gomemlimit) parts.push("GOMEMLIMIT=" + fmtBytes(Number(k.gomemlimit)));
      if (k.gomaxprocs) parts.push("GOMAXPROCS=" + k.gomaxprocs);
      if (k.godebug) parts.push("GODEBUG=" + k.godebug);
      if (k.gcflags) parts.push("gcflags " + k.gcflags);
      dl.append(el("dt", {}, "knobs"), el("dd", { id: "knobs-applied" }, parts.join(" · ")));
    }
    if (res.runtime) {
      const r = res.runtime;
      dl.append(el("dt", {}, "runtime"), el("dd", { id: "runtime-settings" },
        "GOMAXPROCS " + r.gomaxprocs + " (of " + r.numCPU + " CPUs) · GOGC " + (r.gogc < 0 ? "off" : r.gogc) + " · GOMEMLIMIT " + (r.gomemlimit < 0 || r.gomemlimit > 2 ** 62 ? "none" : fmtBytes(r.gomemlimit)), childTag()));
    }
    const first = p.querySelector("dl.kv");
    if (first) first.after(dl); else p.append(dl);
  }

  // The share link carries the experiment in its fragment: x= the JSON of
  // experiment(), compressed (deflate-raw) and base64url-encoded. A fragment
  // never reaches a server, and the link never carries the token: whoever
  // opens it uses their own tune's address and token.
  function b64url(bytes) {
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(s) {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function through(bytes, stream) {
    const r = new Blob([bytes]).stream().pipeThrough(stream);
    return new Uint8Array(await new Response(r).arrayBuffer());
  }
  async function shareLink() {
    const json = new TextEncoder().encode(JSON.stringify(experiment()));
    const z = await through(json, new CompressionStream("deflate-raw"));
    return location.origin + "/#x=" + b64url(z);
  }
  // readShared returns the experiment of the page's x=... fragment, null
  // when there is none, or {error} when it cannot be read.
  async function readShared() {
    const m = /(?:^#|&)x=([0-9A-Za-z_-]+)/.exec(startHash);
    if (!m) return null;
    if (location.hash) history.replaceState(null, "", location.pathname);
    try {
      const json = new TextDecoder().decode(await through(unb64url(m[1]), new DecompressionStream("deflate-raw")));
      const exp = JSON.parse(json);
      if (!exp || typeof exp.code !== "string") throw new Error("no code in it");
      return { code: exp.code, input: typeof exp.input === "string" ? exp.input : "", mode: exp.mode, knobs: exp.knobs || {} };
    } catch (e) {
      setStatus("the shared link cannot be read (" + e.message + "): it was cut or changed", "err");
      return { error: e.message };
    }
  }
  // A share link (or the token) pasted into the address bar of an open
  // page changes only the fragment, which loads nothing: reload to read it.
  window.addEventListener("hashchange", () => {
    if (/(?:^#|&)(?:x|token)=/.test(location.hash)) location.reload();
  });
  $("share").addEventListener("click", async () => {
    try {
      const link = await shareLink();
      $("share-box").hidden = false;
      $("share-link").value = link;
      $("share-link").select();
      let copied = false;
      try { await navigator.clipboard.writeText(link); copied = true; } catch (e) { /* not allowed: the field is selected for Ctrl+C */ }
      $("share-note").textContent = (copied ? "copied · " : "") + link.length + " characters; the link holds the code, input, mode and knobs, not the token";
      document.body.dataset.shareLink = link;
    } catch (e) {
      setStatus("cannot make the share link: " + e.message, "err");
    }
  });

  // ==== issue 17 (points 2, 3, 5, 7): SSA tab, allocations per line,
  // Go versions and the Compare view. Defined in this section only; the
  // rest of the page calls allocMarks and afterRender.
  const otherGoDefault = "go1.27.3";
  const heapKinds = (d) => d.kind === "heap" || d.kind === "moved";

  // ---- point 7: allocations per line, measured (alloc.lines, from the
  // heap profile), beside the escape marks.
  // allocMarks adds to marks the run's per-line allocations: a line that
  // allocated (its bytes and objects), and a line the compiler marks as
  // escaping that allocated nothing in this run. A line's class is that
  // of its first mark, so the first mark of such a line gets a second
  // class (tune-allocated, tune-heapidle), and keeps its own.
  function allocMarks(res, marks) {
    const a = res.alloc;
    if (!a || !a.lines) return;
    const own = (l) => l && (l.bytes > 0 || l.objects > 0);
    const measured = new Map(a.lines.map((l) => [l.line, l]));
    const firstCls = new Map();
    for (const m of marks) if (m.cls && !firstCls.has(m.line)) firstCls.set(m.line, m);
    const tag = (line, cls) => {
      const m = firstCls.get(line);
      if (!m) return cls;
      if (m.cls !== "error") m.cls += " tune-" + cls;
      return null;
    };
    const heapLines = new Set((res.escapes || []).filter(heapKinds).map((d) => d.line));
    for (const l of a.lines) {
      if (own(l)) {
        marks.push({ line: l.line, col: 1, severity: "warning", cls: tag(l.line, "allocated"), source: "heap profile (measured)",
          message: "allocated " + fmtBytes(l.bytes) + " in " + fmtInt(l.objects) + " object" + (l.objects === 1 ? "" : "s") + " in this run" + (l.via && l.via.length ? ", through " + l.via.join(", ") : "") + under(l, "; besides, ") });
      } else if (heapLines.has(l.line) && l.underBytes) {
        // An escape reported at a call (an inlined callee's escapes are
        // reported where it is inlined), with the allocations on the
        // callee's lines.
        marks.push({ line: l.line, col: 1, severity: "warning", cls: tag(l.line, "allocunder"), source: "heap profile (measured)",
          message: "allocated nothing on this line itself" + under(l, "; ") });
      }
    }
    const idle = new Set();
    for (const line of heapLines) if (!measured.has(line)) idle.add(line);
    for (const line of idle) {
      marks.push({ line, col: 1, severity: "info", cls: tag(line, "heapidle"), source: "heap profile (measured)",
        message: "escapes to the heap, but allocated nothing in this run" });
    }
  }
  // under describes what was allocated in the snippet functions a line
  // calls (inlined or not).
  function under(l, sep) {
    return l.underBytes ? sep + fmtBytes(l.underBytes) + " in " + fmtInt(l.underObjects) + " object" + (l.underObjects === 1 ? "" : "s") + " in the snippet functions it calls (inlined or not)" : "";
  }
  // measuredTag is what the heap profile measured on the line of a heap
  // decision, for the Escapes tab: the bytes it allocated in this run, or
  // that it allocated nothing.
  function measuredTag(res, d) {
    if (!heapKinds(d) || !res.alloc || !res.alloc.lines) return null;
    const l = res.alloc.lines.find((x) => x.line === d.line);
    const title = "measured: the heap profile of this run (MemProfileRate = 1)";
    if (l && !(l.bytes > 0 || l.objects > 0) && l.underBytes) return el("span", { class: "tag measured allocated", title }, fmtBytes(l.underBytes) + " allocated in the functions it calls");
    return l
      ? el("span", { class: "tag measured allocated", title }, "allocated " + fmtBytes(l.bytes) + " in this run")
      : el("span", { class: "tag measured idle", title: "measured: the heap profile of this run (MemProfileRate = 1)" }, "nothing allocated in this run");
  }
  // renderAllocLines adds the per-line table to the Allocations tab: each
  // line that allocated or that the compiler marks as escaping, linked to
  // the editor.
  function renderAllocLines(res) {
    const a = res.alloc;
    if (!a) return;
    const p = $("tab-alloc");
    const measured = new Map((a.lines || []).map((l) => [l.line, l]));
    const esc = new Map();
    for (const d of res.escapes || []) if (heapKinds(d)) esc.set(d.line, (esc.get(d.line) || []).concat(d.message));
    const lines = [...new Set([...measured.keys(), ...esc.keys()])].sort((x, y) => x - y);
    if (!lines.length) return;
    const t = el("table", { id: "alloc-lines" }, el("tr", {}, el("th", {}, "line"), el("th", {}, "measured in this run"), el("th", { class: "num" }, "bytes"), el("th", { class: "num" }, "objects"), el("th", { class: "num" }, "in the functions it calls"), el("th", {}, "escape analysis (compiler)")));
    for (const n of lines) {
      const m = measured.get(n), e = esc.get(n) || [];
      const mine = m && (m.bytes > 0 || m.objects > 0);
      if (!mine && !e.length) continue; // only a caller: shown on its callee's line
      const kind = mine ? "allocated" : m && m.underBytes ? "allocunder" : "heapidle";
      t.append(el("tr", { "data-line": n, "data-measured": mine ? String(m.bytes) : "0", class: kind },
        el("td", {}, lineLink(n, String(n))),
        el("td", {}, mine ? "allocated" + (m.via && m.via.length ? " (through " + m.via.join(", ") + ")" : "") : kind === "allocunder" ? "nothing on this line; in the functions it calls" : "nothing allocated"),
        el("td", { class: "num" }, mine ? fmtBytes(m.bytes) : "0"), el("td", { class: "num" }, mine ? fmtInt(m.objects) : "0"),
        el("td", { class: "num" }, m && m.underBytes ? fmtBytes(m.underBytes) + " · " + fmtInt(m.underObjects) : "—"),
        el("td", {}, e.length ? e.length + " heap mark" + (e.length === 1 ? "" : "s") + ": " + e.join("; ") : "—")));
    }
    const h = el("h3", {}, "Per line: measured against escape analysis");
    const note = el("p", { class: "empty" }, "A line the compiler marks as escaping may allocate nothing in a run (the path was not taken, or the value was tiny and shared a block); a line may also allocate through a callee without a mark. The editor marks lines that allocated in red, and escaping lines that did not with a dashed outline.");
    const sitesHead = [...p.querySelectorAll("table")][0];
    if (sitesHead) p.insertBefore(el("div", {}, h, note, t), sitesHead);
    else p.append(h, note, t);
  }

  // toolchainStatus shows the progress of fetching another Go release
  // (status events "fetching go1.27.3…" and "go1.27.3 ready").
  function toolchainStatus(st) {
    if (!st || !(/^fetching go/.test(st) || / ready \(/.test(st))) return;
    setStatus(st + (/ready/.test(st) ? "" : "…"), "busy");
    const c = $("cmp-progress");
    if (c) c.textContent = st;
    document.body.dataset.toolchainStatus = st;
  }

  // afterRender runs after the page shows a result.
  function afterRender(res) {
    renderAllocLines(res);
    compareAfterRun(res);
    if ($("tab-ssa").classList.contains("on")) loadSSA(false);
  }

  // ---- point 3: the SSA tab (POST /api/ssa), fetched when the tab is
  // opened, for the function chosen (default: the entry), in the page's
  // mode and with the chosen Go release.
  const ssa = { key: "", res: null, sel: 0, onlyChanged: false, func: "", go: "", loading: false };
  function ssaHead() {
    const p = $("tab-ssa");
    let head = $("ssa-head");
    if (head) return head;
    p.replaceChildren();
    const fsel = el("select", { id: "ssa-func", title: "the function to show", onchange: () => { ssa.func = fsel.value; loadSSA(false); } });
    const gsel = el("select", { id: "ssa-go", title: "the Go release to compile with", onchange: () => { ssa.go = gsel.value; loadSSA(false); } },
      el("option", { value: "" }, "installed Go"), el("option", { value: otherGoDefault }, otherGoDefault));
    const only = el("input", { type: "checkbox", id: "ssa-changed", onchange: () => { ssa.onlyChanged = only.checked; renderSSA(); } });
    head = el("div", { id: "ssa-head", class: "filters ssa-head" },
      el("label", {}, "Function ", fsel), el("label", {}, "Go ", gsel),
      el("label", {}, only, " only the passes that changed it"),
      el("button", { type: "button", id: "ssa-reload", onclick: () => loadSSA(true) }, "Recompile"),
      el("span", { id: "ssa-status", class: "empty" }));
    p.append(head, el("div", { id: "ssa-body", class: "ssa-body" }));
    return head;
  }
  async function loadSSA(force) {
    ssaHead();
    const code = editor.getText();
    const key = JSON.stringify([code, mode, ssa.func, ssa.go]);
    if (!force && key === ssa.key && ssa.res) { renderSSA(); return; }
    if (running || ssa.loading) { $("ssa-status").textContent = "waiting for the run in progress…"; return; }
    ssa.loading = true;
    running = true;
    $("run").disabled = true;
    $("bench").disabled = true;
    $("ssa-status").textContent = "compiling " + (ssa.func || "the entry function") + (ssa.go ? " with " + ssa.go : "") + "…";
    setStatus("compiling the SSA…", "busy");
    let res;
    try {
      const r = await api("/api/ssa", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code, mode, func: ssa.func || undefined, go: ssa.go || undefined }) });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || r.statusText);
      res = body;
    } catch (e) {
      res = { error: e.message, passes: [], funcs: ssa.res ? ssa.res.funcs : [] };
    }
    ssa.loading = false;
    running = false;
    $("run").disabled = false;
    $("bench").disabled = false;
    ssa.key = key;
    ssa.res = res;
    const passes = res.passes || [];
    ssa.sel = Math.max(0, passes.findIndex((x) => x.name === "opt"));
    setStatus(res.error ? "SSA: " + res.error : "SSA of " + res.func + ": " + passes.length + " passes, " + res.changed + " changed it (compiled in " + (res.buildMs / 1000).toFixed(1) + " s)", res.error ? "err" : "ok");
    renderSSA();
    document.body.dataset.ssaLoads = String(Number(document.body.dataset.ssaLoads || 0) + 1);
  }
  // ssaText shows one pass's text, the lines the pass added marked, and
  // each value's source line "(12)" linked to the editor.
  function ssaText(pass, prev) {
    const before = new Map();
    if (prev) for (const l of prev.text.split("\n")) before.set(l, (before.get(l) || 0) + 1);
    const pre = el("pre", { id: "ssa-text", class: "ssa-text", "data-pass": pass.name });
    for (const l of pass.text.split("\n")) {
      let added = false;
      if (prev) {
        const n = before.get(l) || 0;
        if (n > 0) before.set(l, n - 1); else added = true;
      }
      const row = el("div", { class: added ? "add" : null });
      const m = /\(([+-]?)(\d+)\)/.exec(l);
      if (m && Number(m[2]) > 0) {
        const n = Number(m[2]);
        row.append(l.slice(0, m.index), el("a", { class: "line", onclick: () => gotoLine(n), title: "show line " + n + " in the editor" }, m[0]), l.slice(m.index + m[0].length));
      } else row.append(l || " ");
      pre.append(row);
    }
    return pre;
  }
  function renderSSA() {
    ssaHead();
    const res = ssa.res;
    const body = $("ssa-body");
    body.replaceChildren();
    if (!res) return;
    const fsel = $("ssa-func");
    fsel.replaceChildren(...(res.funcs || []).map((f) => el("option", { value: f, selected: f === res.func }, f)));
    $("ssa-status").textContent = res.error ? "" : res.func + " · " + (res.goVersion || "") + " · " + (res.mode === "debug" ? "Debug" : "Release") + " · " + (res.passes || []).length + " passes, " + res.changed + " changed it";
    if (res.error) {
      body.append(el("div", { class: "banner err", id: "ssa-error" }, res.error));
      for (const e of res.compileErrors || []) body.append(el("div", {}, lineLink(e.line, "snippet.go:" + e.line + ":" + e.col), " ", e.message));
      return;
    }
    const passes = res.passes || [];
    const list = el("ol", { id: "ssa-passes", class: "ssa-passes" });
    passes.forEach((x, i) => {
      if (ssa.onlyChanged && !x.changed) return;
      list.append(el("li", { class: "ssa-pass " + (x.changed ? "changed" : "same") + (i === ssa.sel ? " on" : ""), "data-name": x.name, "data-changed": String(x.changed),
        title: x.changed ? "changed the function: +" + x.added + " −" + x.removed + " lines" : "left the function as it was",
        onclick: () => { ssa.sel = i; renderSSA(); } },
      el("span", { class: "n" }, String(x.seq)), " ", x.name, x.changed && i > 0 ? el("span", { class: "delta" }, x.added || x.removed ? " +" + x.added + " −" + x.removed : " reordered") : null));
    });
    const cur = passes[ssa.sel] || passes[0];
    let prev = null;
    for (let i = ssa.sel - 1; i >= 0; i--) { prev = passes[i]; break; }
    const right = el("div", { class: "ssa-right" },
      el("h3", {}, "after ", el("b", {}, cur.name), cur.changed ? (prev ? (cur.added || cur.removed ? " — changed it: +" + cur.added + " −" + cur.removed + " lines (added lines highlighted)" : " — reordered it (same lines)") : " — the SSA as first built") : " — no change", cur.truncated ? " (cut)" : ""),
      ssaText(cur, prev));
    body.append(list, right);
  }
  tabs.find((t) => t.dataset.tab === "ssa").addEventListener("click", () => loadSSA(false));

  // ---- points 2 and 5: the Compare view. A is a kept run; the next
  // run is B. "Run on both" runs the snippet on the installed Go (A) and
  // on another release (B).
  const cmp = { a: null, b: null, waitB: false };
  function runLabel(res, extra) {
    return (res.goVersion || "") + " · " + (res.mode === "debug" ? "Debug" : "Release") + (res.bench ? " · bench" : "") + (extra ? " · " + extra : "");
  }
  function compareAfterRun(res) {
    if (cmp.waitB && cmp.a && res !== cmp.a.res) { cmp.b = { res, label: runLabel(res, "run after A") }; cmp.waitB = false; }
    renderCompare();
  }
  async function runOnBoth(bench) {
    const other = ($("cmp-go").value || otherGoDefault).trim();
    cmp.waitB = false;
    const a = await run(bench, bench ? { baseline: undefined } : {});
    if (!a || a.error) { cmp.a = a ? { res: a, label: runLabel(a) } : null; cmp.b = null; renderCompare(); showTab("compare"); return; }
    cmp.a = { res: a, label: runLabel(a, "installed") };
    cmp.b = null;
    renderCompare();
    setStatus("running on " + other + " (fetched through the module proxy at its first use)…", "busy");
    const b = await run(bench, bench ? { go: other, baseline: a.bench } : { go: other });
    cmp.b = b ? { res: b, label: runLabel(b) } : { res: { error: $("status").textContent, goVersion: other }, label: other };
    renderCompare();
    showTab("compare");
    document.body.dataset.compares = String(Number(document.body.dataset.compares || 0) + 1);
  }
  // diffLines is a line diff (longest common subsequence) of a and b:
  // [{op: "=", "-" or "+", text}].
  function diffLines(a, b) {
    const n = a.length, m = b.length;
    if (n * m > 4e6) return a.map((t) => ({ op: "-", text: t })).concat(b.map((t) => ({ op: "+", text: t })));
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = [];
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { out.push({ op: "=", text: a[i] }); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: "-", text: a[i++] });
      else out.push({ op: "+", text: b[j++] });
    }
    while (i < n) out.push({ op: "-", text: a[i++] });
    while (j < m) out.push({ op: "+", text: b[j++] });
    return out;
  }
  // asmText is a function's instructions as text without addresses
  // (jump targets by label), so that two builds compare by what they do.
  function asmText(f) {
    const out = [];
    for (const l of f.lines) {
      if (l.kind === "source") continue;
      out.push((l.label ? l.label + ": " : "") + l.op + (l.target ? " " + l.target : l.args ? " " + l.args : ""));
    }
    return out;
  }
  function renderCompare() {
    const p = $("tab-compare");
    p.replaceChildren();
    const goIn = el("input", { id: "cmp-go", type: "text", value: cmp.goValue || otherGoDefault, size: 9, spellcheck: "false", oninput: () => { cmp.goValue = goIn.value; } });
    p.append(el("div", { class: "bench-actions" },
      el("button", { type: "button", id: "cmp-keep", disabled: !last || running, onclick: () => { cmp.a = { res: last, label: runLabel(last, "kept") }; cmp.b = null; cmp.waitB = true; renderCompare(); } }, "Keep the last run as A"),
      el("button", { type: "button", id: "cmp-both", disabled: running, onclick: () => runOnBoth(false) }, "Run on installed Go and on"), goIn,
      el("button", { type: "button", id: "cmp-both-bench", disabled: running, onclick: () => runOnBoth(true) }, "Bench on both"),
      el("span", { id: "cmp-progress", class: "empty" })));
    if (!cmp.a) { p.append(el("p", { class: "empty" }, "Keep a run as A, then run again (edited code, Debug, another Go release); or run the snippet on the installed Go and on another release at once (the release is fetched through the module proxy at its first use, then cached).")); return; }
    const A = cmp.a.res, B = cmp.b ? cmp.b.res : null;
    const t = el("table", { id: "cmp-summary" }, el("tr", {}, el("th", {}, ""), el("th", {}, "A: " + cmp.a.label), el("th", {}, B ? "B: " + cmp.b.label : "B: the next run")));
    const row = (name, f) => t.append(el("tr", { "data-row": name }, el("td", {}, name), el("td", {}, f(A)), el("td", {}, B ? f(B) : "")));
    row("Go", (r) => r.goVersion || "?");
    row("error", (r) => r.error || "—");
    row("returned", (r) => (r.results || []).join(", ") || "—");
    row("allocated", (r) => r.alloc ? fmtBytes(r.alloc.bytes) + " in " + fmtInt(r.alloc.objects) + " objects" : "—");
    row("heap decisions", (r) => String((r.escapes || []).filter(heapKinds).length));
    row("machine code", (r) => (r.assembly || []).map((f) => f.name + " " + f.size + " B").join(", ") || "—");
    row("build · run", (r) => ((r.buildMs || 0) / 1000).toFixed(1) + " s · " + fmtMs(r.runMs || 0));
    p.append(t);
    if (!B) { p.append(el("p", { class: "empty" }, "Waiting for run B.")); return; }
    // Benchmarks: B was benched against A as its baseline.
    if (B.comparison && B.comparison.length) {
      const bt = el("table", { class: "bench", id: "cmp-bench" }, el("tr", {}, el("th", {}, "benchmark"), el("th", {}, "unit"), el("th", { class: "num" }, "A"), el("th", { class: "num" }, "B"), el("th", { class: "num" }, "delta"), el("th", {}, "")));
      for (const d of B.comparison) bt.append(el("tr", { "data-unit": d.unit }, el("td", {}, d.benchmark), el("td", {}, d.unit), el("td", { class: "num" }, String(+d.base.median.toPrecision(4))), el("td", { class: "num" }, String(+d.new.median.toPrecision(4))), el("td", { class: "num" }, d.delta), el("td", {}, d.note || "")));
      p.append(el("h3", {}, "Benchmarks (benchstat: A as the baseline)"), bt);
    }
    // Assembly per function, diffed.
    const fa = new Map((A.assembly || []).map((f) => [f.name, f])), fb = new Map((B.assembly || []).map((f) => [f.name, f]));
    const names = [...new Set([...fa.keys(), ...fb.keys()])];
    if (names.length) p.append(el("h3", {}, "Assembly per function (addresses left out, jumps by label)"));
    for (const n of names) {
      const x = fa.get(n), y = fb.get(n);
      const d = diffLines(x ? asmText(x) : [], y ? asmText(y) : []);
      const changed = d.filter((e) => e.op !== "=").length;
      const pre = el("pre", { class: "diff" }, d.map((e) => el("div", { class: e.op === "+" ? "add" : e.op === "-" ? "del" : null }, (e.op === "=" ? "  " : e.op + " ") + e.text)));
      p.append(el("details", { class: "cmp-asm", "data-fn": n, "data-changed": String(changed), open: changed > 0 && changed < 400 },
        el("summary", {}, "func " + n + ": " + (x ? x.size + " B" : "—") + " → " + (y ? y.size + " B" : "—") + (changed ? ", " + changed + " lines differ" : ", same instructions")), pre));
    }
    // Escape decisions, diffed.
    const key = (d) => "line " + d.line + ":" + d.col + " " + d.message;
    const ea = new Set((A.escapes || []).map(key)), eb = new Set((B.escapes || []).map(key));
    const only = (s, o) => [...s].filter((k) => !o.has(k));
    const lineOf = (k) => Number(/^line (\d+)/.exec(k)[1]);
    const ul = el("ul", { id: "cmp-escapes" });
    for (const k of only(ea, eb)) ul.append(el("li", { class: "del" }, "A only: ", lineLink(lineOf(k), k.split(" ")[1]), " ", k.slice(k.indexOf(" ", 5) + 1)));
    for (const k of only(eb, ea)) ul.append(el("li", { class: "add" }, "B only: ", lineLink(lineOf(k), k.split(" ")[1]), " ", k.slice(k.indexOf(" ", 5) + 1)));
    p.append(el("h3", {}, "Escape and inlining decisions: " + [...ea].filter((k) => eb.has(k)).length + " the same, " + only(ea, eb).length + " only in A, " + only(eb, ea).length + " only in B"), ul);
    // Allocations per line.
    const ownLines = (r) => ((r.alloc || {}).lines || []).filter((l) => l.bytes > 0 || l.objects > 0).map((l) => [l.line, l]);
    const la = new Map(ownLines(A)), lb = new Map(ownLines(B));
    const lines = [...new Set([...la.keys(), ...lb.keys()])].sort((x, y) => x - y);
    if (lines.length) {
      const at = el("table", { id: "cmp-alloc" }, el("tr", {}, el("th", {}, "line"), el("th", { class: "num" }, "A bytes"), el("th", { class: "num" }, "A objects"), el("th", { class: "num" }, "B bytes"), el("th", { class: "num" }, "B objects")));
      for (const n of lines) {
        const x = la.get(n), y = lb.get(n);
        at.append(el("tr", { "data-line": n }, el("td", {}, lineLink(n, String(n))), el("td", { class: "num" }, x ? fmtBytes(x.bytes) : "0"), el("td", { class: "num" }, x ? fmtInt(x.objects) : "0"), el("td", { class: "num" }, y ? fmtBytes(y.bytes) : "0"), el("td", { class: "num" }, y ? fmtInt(y.objects) : "0")));
      }
      p.append(el("h3", {}, "Allocations per line (heap profile)"), at);
    }
    // Layout.
    const sa = new Map((A.layouts || []).map((s) => [s.name, s])), sb = new Map((B.layouts || []).map((s) => [s.name, s]));
    const structs = [...new Set([...sa.keys(), ...sb.keys()])];
    if (structs.length) {
      const lt = el("table", { id: "cmp-layout" }, el("tr", {}, el("th", {}, "type"), el("th", {}, "A size / align"), el("th", {}, "B size / align")));
      const fmt = (s) => (s ? s.size + " / " + s.align : "—");
      for (const n of structs) lt.append(el("tr", { "data-type": n }, el("td", {}, n), el("td", {}, fmt(sa.get(n))), el("td", {}, fmt(sb.get(n)))));
      p.append(el("h3", {}, "Struct layout"), lt);
    }
  }
  renderCompare();

  // ---- start
  async function showSandbox() {
    const box = $("sandbox");
    try {
      const r = await api("/api/info");
      if (!r.ok) throw new Error((await r.json()).error || r.statusText);
      const info = await r.json();
      const off = info.protections.filter((p) => !p.on);
      box.className = "sandbox " + (off.length ? "off" : "on");
      box.textContent = off.length ? "sandbox: " + off.map((p) => p.name).join(", ") + " off" : "sandbox on";
      box.title = info.protections.map((p) => (p.on ? "✓ " : "✗ ") + p.name + ": " + p.how).join("\n");
      document.body.dataset.protectionsOff = String(off.length);
      if (off.length) {
        $("tab-output").prepend(el("div", { class: "banner err", id: "sandbox-off" },
          "Some protections of the sandbox are off on this machine, so a snippet can do more than the README's sandbox allows: ",
          el("ul", {}, off.map((p) => el("li", {}, el("b", {}, p.name), ": ", p.how)))));
      }
    } catch (e) {
      box.className = "sandbox off";
      box.textContent = "sandbox: unknown";
      box.title = e.message;
    }
  }
  async function init() {
    const shared = await readShared();
    if (!token) {
      if (shared && shared.code !== undefined) {
        load(shared, "shared link");
        setStatus("the shared experiment is loaded and kept; to run it, open the address that zerogc tune printed (it ends in #token=...) in this browser", "err");
      } else setStatus("no token: open the address that zerogc tune printed (it ends in #token=...)", "err");
      $("run").disabled = true;
      document.body.dataset.shared = shared ? (shared.error ? "error" : "1") : "";
      return;
    }
    try {
      const r = await api("/api/samples");
      if (!r.ok) throw new Error((await r.json()).error || r.statusText);
      samples = await r.json();
    } catch (e) {
      samples = [];
      setStatus("cannot load the samples: " + e.message, "err");
    }
    const sel = $("sample");
    for (const s of samples) sel.append(el("option", { value: s.id }, s.title));
    const draft = loadDraft();
    document.body.dataset.shared = shared ? (shared.error ? "error" : "1") : "";
    if (shared && !shared.error) {
      load(shared, "shared link");
    } else if (draft && typeof draft.code === "string") {
      load(draft, "your last code (kept across reloads)");
    } else if (samples.length) load(samples[0]);
    showSandbox();
    // Ready once the event stream is open, so a run's live events are seen.
    connectEvents(() => { document.body.dataset.ready = "1"; });
  }
  init();
})();
