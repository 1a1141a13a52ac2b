// editor.js: the CodeMirror part of zerogc tune's page. esbuild bundles it
// into tune/assets/editor.js (see package.json), which the Go package embeds.
// The page's own script (tune/assets/app.js) uses the global TuneEditor.
import { EditorView, basicSetup } from "codemirror";
import { EditorState, StateEffect, StateField, RangeSetBuilder } from "@codemirror/state";
import { Decoration, keymap } from "@codemirror/view";
import { go } from "@codemirror/lang-go";
import { lintGutter, setDiagnostics } from "@codemirror/lint";

// lineMarks holds one class per marked line ("heap", "stack", "error", "inline").
const setLineMarks = StateEffect.define();
const lineMarks = StateField.define({
  create() {
    return Decoration.none;
  },
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) {
      if (e.is(setLineMarks)) deco = e.value;
    }
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

function clampLine(doc, line) {
  return Math.max(1, Math.min(doc.lines, line | 0));
}

// create makes an editor inside parent. onRun is called on Ctrl/Cmd-Enter.
export function create(parent, text, onRun) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        keymap.of([
          { key: "Mod-Enter", run: () => { onRun(); return true; } },
        ]),
        basicSetup,
        go(),
        lintGutter(),
        lineMarks,
        EditorView.theme({
          "&": { height: "100%", fontSize: "13px" },
          ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
          ".cm-line.tune-heap": { backgroundColor: "rgba(230, 80, 60, 0.13)" },
          ".cm-line.tune-moved": { backgroundColor: "rgba(230, 140, 40, 0.13)" },
          ".cm-line.tune-error": { backgroundColor: "rgba(220, 40, 40, 0.18)" },
          ".cm-line.tune-stack": { backgroundColor: "rgba(60, 170, 90, 0.10)" },
        }),
      ],
    }),
  });
  return {
    view,
    getText() {
      return view.state.doc.toString();
    },
    setText(t) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
      this.clearMarks();
    },
    // mark shows diagnostics: marks is a list of
    // {line, col, severity: "error"|"warning"|"info", message, cls}.
    mark(marks) {
      const doc = view.state.doc;
      const diags = [];
      const byLine = new Map();
      for (const m of marks) {
        const line = doc.line(clampLine(doc, m.line));
        const from = Math.min(line.to, line.from + Math.max(0, (m.col || 1) - 1));
        diags.push({ from, to: line.to > from ? line.to : from, severity: m.severity || "info", message: m.message, source: m.source || "" });
        if (m.cls && !byLine.has(line.from)) byLine.set(line.from, m.cls);
      }
      const b = new RangeSetBuilder();
      for (const from of [...byLine.keys()].sort((a, c) => a - c)) {
        b.add(from, from, Decoration.line({ class: "tune-" + byLine.get(from) }));
      }
      view.dispatch(setDiagnostics(view.state, diags), { effects: setLineMarks.of(b.finish()) });
    },
    clearMarks() {
      view.dispatch(setDiagnostics(view.state, []), { effects: setLineMarks.of(Decoration.none) });
    },
    // goto puts the cursor on a line and scrolls to it.
    goto(lineNo) {
      const line = view.state.doc.line(clampLine(view.state.doc, lineNo));
      view.dispatch({ selection: { anchor: line.from }, scrollIntoView: true });
      view.focus();
    },
  };
}
