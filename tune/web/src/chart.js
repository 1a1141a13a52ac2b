// chart.js: the GC chart of zerogc tune's page, drawn with uPlot. esbuild
// bundles it into tune/assets/chart.js and chart.css (see package.json);
// the page's script (tune/assets/app.js) uses the global TuneChart.
//
// The chart plots the child's runtime/metrics samples (heap in use, live
// heap, heap goal, total allocated on its own axis) and one mark per GC
// cycle. Drag selects a time range to zoom into, a double-click resets it,
// the wheel zooms around the cursor and Shift+drag (or the middle button)
// pans. Clicking a legend entry hides or shows its series, the GC marks
// included. Where cycles are closer than a few pixels they are drawn as
// one band with their count; zooming in separates them.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const colors = { inUse: "#4c8df6", live: "#2e9b57", goal: "#e08a1e", alloc: "#8a5cd6", gc: "#d9473a", forced: "#333a48", call: "#2f6fde" };

// fmtBytes prints a size in B, KiB, MiB or GiB.
export function fmtBytes(n) {
  if (n === undefined || n === null || !isFinite(n)) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + " " + u[i];
}

// pxRatio is the canvas pixels per CSS pixel.
const pxRatio = () => uPlot.pxRatio || window.devicePixelRatio || 1;

// fmtTime prints a time in ms (or s above a second) with the given number
// of decimals.
function fmtTime(t, dec) {
  if (t === undefined || t === null || !isFinite(t)) return "–";
  if (Math.abs(t) >= 1000) return (t / 1000).toFixed(Math.max(0, (dec || 0) - 3 + 2)) + " s";
  return t.toFixed(dec === undefined ? (t < 10 ? 2 : 1) : dec) + " ms";
}

// binIncrs are the tick steps of a byte axis: 1, 2 and 5 times powers of
// 1024 (and their halvings), so ticks fall on 256 KiB, 512 KiB, 1 MiB.
const binIncrs = (() => {
  const out = [];
  for (let k = 0; k <= 4; k++) for (const m of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]) out.push(m * Math.pow(1024, k));
  return out;
})();
function niceBytes(v) {
  for (const i of binIncrs) if (i >= v) return i;
  return v;
}

// sampleBefore and sampleAfter are the runtime/metrics samples taken last
// before cycle c started and first after it ended.
function sampleBefore(c, ss) {
  let best = null;
  for (const s of ss) { if (s.ms <= c.atMs && s.cycles < c.n) best = s; else if (s.ms > c.atMs) break; }
  return best;
}
function sampleAfter(c, ss) { return ss.find((s) => s.cycles >= c.n) || null; }

// cycleHeap describes the heap sizes of cycle c. gctrace prints them in
// whole MB, which says "0→0→0 MB" for a small heap; below 4 MB the sizes
// come from the runtime/metrics samples around the cycle instead, in KiB:
// the heap in use just before it and the live heap and goal just after.
// It returns {heap, goal, exact}; exact is false when the text comes from
// the samples.
export function cycleHeap(c, ss) {
  if (c.heapStartMB >= 4 && c.liveMB >= 1) {
    return { heap: c.heapStartMB + "→" + c.heapEndMB + "→" + c.liveMB + " MB", goal: c.goalMB + " MB", exact: true };
  }
  const b = sampleBefore(c, ss || []), a = sampleAfter(c, ss || []);
  // The sample before the cycle is up to one sampling interval old, so
  // the start is approximate ("≈"); the live heap after it is exact.
  const start = b ? "≈" + fmtBytes(b.inUse) : c.heapStartMB ? c.heapStartMB + " MB" : "<1 MB";
  const live = a ? fmtBytes(a.live) : c.liveMB ? c.liveMB + " MB" : "<1 MB";
  return { heap: start + " → live " + live, goal: a ? fmtBytes(a.goal) : c.goalMB ? c.goalMB + " MB" : "<1 MB", exact: false };
}

function cycleKind(c) {
  return c.forced ? (c.byTune ? "forced by tune (allocation profile)" : "forced") : "automatic";
}
function describeCycle(c, ss) {
  const h = cycleHeap(c, ss);
  return "GC #" + c.n + " " + cycleKind(c) + " at " + fmtTime(c.atMs, 1) + ", pause " + c.pauseMs.toFixed(3) + " ms, heap " + h.heap + ", goal " + h.goal;
}

// Series indices: 0 is time; 1–4 the samples; 5 and 6 the GC marks (no
// data points: the draw hook draws them, the legend toggles them).
const S_AUTO = 5, S_FORCED = 6;
const MIN_GAP = 4; // CSS px: cycles closer than this are drawn as one band
const LABEL_GAP = 26, PAUSE_GAP = 42;

// create makes the chart inside box and returns {update, uplot}. readout,
// if given, is an element that shows the values under the cursor.
export function create(box, readout) {
  let d = { samples: [], cycles: [], callStartMs: null, callEndMs: null };
  let zoomed = false;
  let nearest = { auto: null, forced: null }; // the cycles nearest the cursor

  function nearestCycle(u, forced) {
    const left = u.cursor.left;
    if (left === undefined || left === null || left < 0) return null;
    let best = null, bestDist = 10; // CSS px
    for (const c of d.cycles) {
      if (!!c.forced !== forced) continue;
      const dist = Math.abs(u.valToPos(c.atMs, "x") - left);
      if (dist <= bestDist) { best = c; bestDist = dist; }
    }
    return best;
  }
  const gcValue = (forced) => () => {
    const c = forced ? nearest.forced : nearest.auto;
    return c ? "#" + c.n + ", " + c.pauseMs.toFixed(2) + " ms" : "–";
  };
  const bytesValue = (u, v) => (v === null || v === undefined ? "–" : fmtBytes(v));

  // drawCall shades the call's time window under the series.
  function drawCall(u) {
    if (d.callStartMs === null || d.callStartMs === undefined || !(d.callEndMs > d.callStartMs)) return;
    const { ctx, bbox } = u;
    const r = pxRatio();
    const x0 = Math.max(bbox.left, u.valToPos(d.callStartMs, "x", true));
    const x1 = Math.min(bbox.left + bbox.width, u.valToPos(d.callEndMs, "x", true));
    if (x1 <= x0) return;
    ctx.save();
    ctx.fillStyle = "rgba(47, 111, 222, 0.07)";
    ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
    ctx.fillStyle = colors.call;
    ctx.font = 10 * r + "px system-ui, sans-serif";
    ctx.fillText("call", x0 + 4 * r, bbox.top + bbox.height - 6 * r);
    ctx.restore();
  }

  // drawCycles draws the GC marks of the visible range: a line per cycle,
  // or one band per group of cycles closer than MIN_GAP, with the number
  // and pause of each cycle that has room for them.
  function drawCycles(u) {
    const { ctx, bbox } = u;
    const r = pxRatio();
    const showAuto = u.series[S_AUTO].show, showForced = u.series[S_FORCED].show;
    const xmin = u.scales.x.min, xmax = u.scales.x.max;
    const vis = d.cycles.filter((c) => c.atMs >= xmin && c.atMs <= xmax && (c.forced ? showForced : showAuto));
    const groups = [];
    for (const c of vis) {
      const px = u.valToPos(c.atMs, "x", true);
      const g = groups[groups.length - 1];
      if (g && px - g.px0 < MIN_GAP * r) { g.members.push(c); g.px1 = px; } else groups.push({ px0: px, px1: px, members: [c] });
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    ctx.font = 9.5 * r + "px ui-monospace, monospace";
    ctx.textAlign = "center";
    let labelled = 0;
    groups.forEach((g, i) => {
      const prev = i > 0 ? groups[i - 1].px1 : -1e9, next = i + 1 < groups.length ? groups[i + 1].px0 : 1e9;
      const forcedOnly = g.members.every((c) => c.forced);
      const color = forcedOnly ? colors.forced : colors.gc;
      if (g.members.length === 1) {
        const c = g.members[0];
        ctx.strokeStyle = color;
        ctx.lineWidth = r;
        ctx.setLineDash(c.forced ? [] : [3 * r, 2 * r]);
        ctx.globalAlpha = 0.85;
        ctx.beginPath();
        ctx.moveTo(Math.round(g.px0) + 0.5, bbox.top);
        ctx.lineTo(Math.round(g.px0) + 0.5, bbox.top + bbox.height);
        ctx.stroke();
        ctx.globalAlpha = 1;
        if (g.px0 - prev > LABEL_GAP * r && next - g.px0 > LABEL_GAP * r) {
          ctx.fillStyle = color;
          ctx.fillText(String(c.n) + (c.forced ? "F" : ""), g.px0, bbox.top + 11 * r);
          labelled++;
          if (g.px0 - prev > PAUSE_GAP * r && next - g.px0 > PAUSE_GAP * r) {
            ctx.globalAlpha = 0.8;
            ctx.fillText(c.pauseMs.toFixed(c.pauseMs < 1 ? 2 : 1) + " ms", g.px0, bbox.top + 22 * r);
            ctx.globalAlpha = 1;
          }
        }
      } else {
        const w = Math.max(2 * r, g.px1 - g.px0);
        ctx.fillStyle = color;
        ctx.globalAlpha = 0.28;
        ctx.fillRect(g.px0 - r, bbox.top, w + 2 * r, bbox.height);
        ctx.globalAlpha = 1;
        if (g.px0 - prev > LABEL_GAP * r && next - g.px1 > LABEL_GAP * r) {
          ctx.fillStyle = color;
          ctx.fillText(g.members.length + "×", (g.px0 + g.px1) / 2, bbox.top + 11 * r);
          labelled++;
        }
      }
    });
    ctx.restore();
    // For the page's tests and the summary: what is on the screen.
    box.dataset.visibleCycles = String(vis.length);
    box.dataset.marks = String(groups.length);
    box.dataset.bands = String(groups.filter((g) => g.members.length > 1).length);
    box.dataset.labels = String(labelled);
  }

  function showReadout(u) {
    nearest.auto = nearestCycle(u, false);
    nearest.forced = nearestCycle(u, true);
    if (!readout) return;
    const i = u.cursor.idx;
    if (i === null || i === undefined || u.cursor.left < 0) { readout.textContent = "point at the chart for its values"; return; }
    const t = u.data[0][i];
    // The sample nearest the cursor (the x data also holds the cycles'
    // times, which have no sample values).
    let s = null;
    for (const x of d.samples) { if (s === null || Math.abs(x.ms - t) < Math.abs(s.ms - t)) s = x; if (x.ms > t) break; }
    const parts = ["at " + fmtTime(u.posToVal(u.cursor.left, "x"), 1)];
    if (s) parts.push("heap in use " + fmtBytes(s.inUse), "live " + fmtBytes(s.live), "goal " + fmtBytes(s.goal), "allocated " + fmtBytes(s.alloc), "objects " + s.objects.toLocaleString("en-US"));
    const c = nearest.auto || nearest.forced;
    if (c) parts.push(describeCycle(c, d.samples));
    readout.textContent = parts.join(" · ");
  }

  const opts = {
    width: Math.max(300, box.clientWidth || 800),
    height: 320,
    padding: [8, 8, 0, 0],
    cursor: {
      drag: { x: true, y: false, setScale: true },
      // Shift+drag and the middle button pan (below); a plain drag selects.
      bind: {
        mousedown: (self, targ, handler) => (e) => { if (e.button === 0 && !e.shiftKey) handler(e); return null; },
      },
      points: { size: 6 },
      // The x values include the cycles' times, where the samples' series
      // have no value: the legend shows each series' nearest sample.
      hover: { skip: [null, undefined] },
    },
    legend: { live: true },
    scales: {
      x: { time: false, range: (u, min, max) => (min === null || max === null || !isFinite(min) ? [0, 100] : min === max ? [min, min + 10] : [min, max]) },
      bytes: { range: (u, min, max) => [0, niceBytes(Math.max(isFinite(max) ? max * 1.08 : 0, 64 << 10))] },
      alloc: { range: (u, min, max) => [0, niceBytes(Math.max(isFinite(max) ? max * 1.05 : 0, 64 << 10))] },
    },
    axes: [
      {
        stroke: "#7a8294", grid: { stroke: "#eef0f4", width: 1 }, ticks: { stroke: "#e2e5eb", width: 1 },
        values: (u, splits, ax, space, incr) => {
          const inS = splits.length && Math.abs(splits[splits.length - 1]) >= 1000;
          const dec = (step) => (step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3);
          return splits.map((t) => (inS ? (t / 1000).toFixed(dec(incr / 1000)) + " s" : t.toFixed(dec(incr)) + " ms"));
        },
      },
      {
        scale: "bytes", stroke: "#7a8294", size: 72, incrs: binIncrs,
        grid: { stroke: "#eef0f4", width: 1 }, ticks: { stroke: "#e2e5eb", width: 1 },
        values: (u, splits) => splits.map(fmtBytes),
      },
      {
        scale: "alloc", side: 1, stroke: colors.alloc, size: 72, incrs: binIncrs, grid: { show: false },
        ticks: { stroke: "#e2e5eb", width: 1 },
        values: (u, splits) => splits.map(fmtBytes),
      },
    ],
    series: [
      { label: "time", value: (u, v) => fmtTime(v, 1) },
      { label: "heap in use", scale: "bytes", stroke: colors.inUse, fill: "rgba(76, 141, 246, 0.14)", width: 1.6, spanGaps: true, value: bytesValue },
      { label: "live heap", scale: "bytes", stroke: colors.live, width: 1.4, spanGaps: true, value: bytesValue },
      { label: "heap goal", scale: "bytes", stroke: colors.goal, width: 1.3, dash: [5, 3], spanGaps: true, value: bytesValue },
      { label: "total allocated (right axis)", scale: "alloc", stroke: colors.alloc, width: 1.3, spanGaps: true, value: bytesValue },
      { label: "GC (automatic)", scale: "bytes", stroke: colors.gc, width: 1, dash: [3, 2], points: { show: false }, value: gcValue(false) },
      { label: "GC (forced)", scale: "bytes", stroke: colors.forced, width: 1, points: { show: false }, value: gcValue(true) },
    ],
    hooks: {
      drawAxes: [drawCall],
      draw: [drawCycles],
      setCursor: [showReadout],
      setSelect: [() => { zoomed = true; }],
      setScale: [(u, key) => { if (key === "x") box.dataset.xrange = u.scales.x.min.toFixed(3) + "," + u.scales.x.max.toFixed(3); }],
    },
  };

  box.replaceChildren();
  const u = new uPlot(opts, toData(d), box);

  // The wheel zooms the time axis around the cursor.
  u.over.addEventListener("wheel", (e) => {
    e.preventDefault();
    const { min, max } = u.scales.x;
    const at = u.posToVal(e.offsetX, "x");
    const f = e.deltaY < 0 ? 0.8 : 1.25;
    const [lo, hi] = extent();
    const nmin = Math.max(lo, at - (at - min) * f), nmax = Math.min(hi, at + (max - at) * f);
    if (nmax - nmin > 1e-3) { zoomed = true; u.setScale("x", { min: nmin, max: nmax }); }
  }, { passive: false });
  // Shift+drag or the middle button pans it.
  u.over.addEventListener("mousedown", (e) => {
    if (!(e.button === 1 || (e.button === 0 && e.shiftKey))) return;
    e.preventDefault();
    const x0 = e.clientX, { min, max } = u.scales.x;
    const perPx = (max - min) / u.over.clientWidth;
    const [lo, hi] = extent();
    const move = (m) => {
      let dx = (x0 - m.clientX) * perPx;
      dx = Math.max(lo - min, Math.min(hi - max, dx));
      zoomed = true;
      u.setScale("x", { min: min + dx, max: max + dx });
    };
    const up = () => { document.removeEventListener("mousemove", move); document.removeEventListener("mouseup", up); };
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  });
  u.over.addEventListener("dblclick", () => { zoomed = false; });

  function extent() {
    const xs = u.data[0];
    return xs.length ? [xs[0], xs[xs.length - 1]] : [0, 100];
  }

  function toData(dd) {
    // The x values are the samples' times and the cycles' times, so that
    // the time axis spans every cycle and the cursor can stop on one.
    const ss = dd.samples || [], cs = dd.cycles || [];
    const pts = [];
    for (const s of ss) pts.push([s.ms, s]);
    for (const c of cs) pts.push([c.atMs, null]);
    pts.sort((a, b) => a[0] - b[0]);
    const cols = [[], [], [], [], [], [], []];
    for (const [t, s] of pts) {
      cols[0].push(t);
      cols[1].push(s ? s.inUse : null);
      cols[2].push(s ? s.live : null);
      cols[3].push(s ? s.goal : null);
      cols[4].push(s ? s.alloc : null);
      cols[5].push(null);
      cols[6].push(null);
    }
    return cols;
  }

  return {
    uplot: u,
    // update replaces the data; reset (a new run) also drops the zoom.
    update(nd, reset) {
      d = { samples: nd.samples || [], cycles: nd.cycles || [], callStartMs: nd.callStartMs, callEndMs: nd.callEndMs };
      if (reset) zoomed = false;
      u.setData(toData(d), !zoomed);
    },
    // resize fits the chart to its box's width.
    resize() {
      const w = Math.max(300, box.clientWidth || 800);
      if (w !== u.width) u.setSize({ width: w, height: 320 });
    },
    isZoomed: () => zoomed,
  };
}
