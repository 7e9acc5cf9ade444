"""HTML report: one self-contained page (inline CSS, JS and SVG), rebuilt from results alone.

Several runs (tox envs) merge into one page: the matrix has a column per run, and each
case's panel explains the first run where it does not agree. Every string that comes from
a case, a value or an exception goes through ``escape``.
"""

import json
import math
from html import escape

from .compare import TOLERANCES
from .devices import summary as device_summary
from .observe import decode_values
from .repro import repro_snippet
from .runner import (
    AGREE,
    DEVICE_DIFFERENCE,
    DIVERGE,
    ERROR,
    KNOWN,
    LABELS,
    NOW_AGREEING,
    PENDING,
    REFERENCE_MORE_ACCURATE,
    SKIPPED,
    SPEC_ERROR,
    VERDICTS,
)

_FAILING = (DIVERGE, NOW_AGREEING, SPEC_ERROR, ERROR)


def render(runs):
    """The report page for one or more RunResults, as a string."""
    rows = _merge(runs)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        "<title>PyTorch conformance report</title>",
        f"<style>{_STYLE}</style></head><body>",
        _header(runs, rows),
        _controls(),
        _matrix(runs, rows),
        "<main id=cases>",
        *(_panel(row, runs) for row in rows),
        "</main>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


# -- merging runs ------------------------------------------------------------------------------------

def _merge(runs):
    """One row per case and device: its results in every run, and the one to explain."""
    rows = {}
    for index, run in enumerate(runs):
        for result in run.results:
            row = rows.setdefault(result.key, {"key": result.key, "case": result.case, "results": {}})
            row["results"][index] = result
    for row in rows.values():
        results = [row["results"][i] for i in sorted(row["results"])]
        row["focus"] = next((r for r in results if r.verdict != AGREE), results[0])
        row["verdict"] = row["focus"].verdict
        row["drift"] = any(r.drifted for r in results)
    return sorted(rows.values(), key=lambda row: (_section_key(row["case"].section), row["case"].file,
                                                   row["case"].line, row["key"]))


def _section_key(section):
    return [int(part) if part.isdigit() else part for part in section.split(".")]


def _run_name(run, index):
    return run.environment.get("env") or f"{run.backends['actual']} #{index + 1}"


# -- header, controls and matrix -----------------------------------------------------------------------

def _header(runs, rows):
    counts = {verdict: 0 for verdict in VERDICTS}
    for row in rows:
        counts[row["verdict"]] += 1
    drift = sum(1 for row in rows if row["drift"])
    first = runs[0]
    env = first.environment
    versions = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(str(version))}</dd>" for name, version in env.get("backends", {}).items())
    devices = sorted({row["focus"].device for row in rows})
    badges = "".join(
        f"<a class='badge {verdict}' href='#' data-filter='{verdict}'>{counts[verdict]} {escape(LABELS[verdict])}</a>"
        for verdict in VERDICTS if counts[verdict]) + f"<a class='badge drift' href='#' data-filter=drift>{drift} " \
        "document drift</a>"
    return (
        "<header><h1>How closely does "
        f"<code>{escape(first.backends['actual'])}</code> follow "
        f"<code>{escape(first.backends['expected'])}</code>?</h1>"
        f"<p class=lead>{len(rows)} cases from the textbook chapter, run statement by statement on both; every "
        "difference in values, dtypes, memory sharing, identity, gradients, printed output and errors is listed "
        "below.</p>"
        f"<div class=badges>{badges}</div>"
        f"<dl class=meta><dt>date</dt><dd>{escape(first.created)}</dd>{versions}"
        f"<dt>numpy</dt><dd>{escape(env.get('numpy', '?'))}</dd>"
        f"<dt>Python</dt><dd>{escape(env.get('python', '?'))}</dd>"
        f"<dt>revision</dt><dd>{escape(env.get('revision', '?'))}</dd>"
        f"<dt>runs</dt><dd>{escape(', '.join(_run_name(r, i) for i, r in enumerate(runs)))}</dd>"
        f"<dt>devices</dt><dd>{escape(', '.join(devices))}</dd>{_device_modes(runs)}"
        + "".join(f"<dt>interrupted</dt><dd>{escape(_run_name(run, i))}: {escape(run.environment['interrupted'])}</dd>"
                  for i, run in enumerate(runs) if run.environment.get("interrupted"))
        + "</dl>"
        + _load_errors(runs) + "</header>"
    )


def _device_modes(runs):
    """Where each run put the backends (only for runs with the implementation or torch on cuda)."""
    parts = []
    for index, run in enumerate(runs):
        devices = run.environment.get("devices")
        if devices:
            label = f"device mode ({_run_name(run, index)})" if len(runs) > 1 else "device mode"
            parts.append(f"<dt>{escape(label)}</dt><dd>{escape(device_summary(devices))}</dd>")
            if devices.get("host_fallbacks"):
                fallbacks = ", ".join(f"{name} {count}" for name, count in devices["host_fallbacks"].items())
                parts.append(f"<dt>host fallbacks</dt><dd>{escape(fallbacks)}</dd>")
    return "".join(parts)


def _load_errors(runs):
    errors = [error for run in runs for error in run.load_errors]
    if not errors:
        return ""
    return "<section class=load-errors><h2>Files that could not be loaded</h2><ul>" + "".join(
        f"<li><code>{escape(error)}</code></li>" for error in errors) + "</ul></section>"


def _controls():
    buttons = "".join(f"<button type=button data-filter='{name}'{' class=active' if name == 'all' else ''}>"
                      f"{label}</button>" for name, label in (
                          ("all", "all"), ("failing", "diverging"), ("known", "known"), ("drift", "drift")))
    return (f"<nav class=controls><div class=filters role=group aria-label=filter>{buttons}</div>"
            "<input id=search type=search placeholder='search ids, titles, code…' aria-label=search>"
            "<button type=button id=expand>expand all</button><button type=button id=collapse>collapse all</button>"
            "</nav>")


def _matrix(runs, rows):
    head = "".join(f"<th>{escape(_run_name(run, i))}</th>" for i, run in enumerate(runs))
    parts = ["<section class=matrix><h2>Cases by section</h2>"]
    for section in sorted({row["case"].section for row in rows}, key=_section_key):
        section_rows = [row for row in rows if row["case"].section == section]
        failing = sum(1 for row in section_rows if row["verdict"] in _FAILING)
        parts.append(f"<details class=section{' open' if failing else ''}><summary>§ {escape(section)} "
                     f"<span class=small>{len(section_rows)} cases, {failing} failing</span></summary>"
                     f"<table><thead><tr><th>case</th>{head}</tr></thead><tbody>")
        for row in section_rows:
            cells = "".join(_verdict_cell(row["results"].get(i)) for i in range(len(runs)))
            parts.append(f"<tr data-key='{escape(row['key'])}'><td><a href='#case-{escape(row['key'])}'>"
                         f"{escape(row['key'])}</a></td>{cells}</tr>")
        parts.append("</tbody></table></details>")
    parts.append("</section>")
    return "".join(parts)


def _verdict_cell(result):
    if result is None:
        return "<td class=absent>—</td>"
    return f"<td class='cell {result.verdict}' title='{escape(LABELS[result.verdict])}'>{_SYMBOLS[result.verdict]}</td>"


_SYMBOLS = {AGREE: "✓", DIVERGE: "✗", KNOWN: "≈", PENDING: "…", DEVICE_DIFFERENCE: "⇄", REFERENCE_MORE_ACCURATE: "±",
            NOW_AGREEING: "!", SPEC_ERROR: "§", ERROR: "⚠", SKIPPED: "–"}


# -- a case's panel -----------------------------------------------------------------------------------------

def _panel(row, runs):
    result, case = row["focus"], row["case"]
    expected_name, actual_name = runs[0].backends["expected"], runs[0].backends["actual"]
    first = result.divergences[0] if result.divergences else None
    classes = ["case", result.verdict] + (["drift"] if row["drift"] else []) + (
        ["failing"] if result.verdict in _FAILING else [])
    searchable = " ".join([case.id, case.title, case.section, " ".join(case.tags), case.code]).lower()
    parts = [
        f"<details class='{' '.join(classes)}' id='case-{escape(row['key'])}' data-search='{escape(searchable)}'"
        f"{' open' if result.verdict in _FAILING else ''}>",
        f"<summary><span class='verdict {result.verdict}'>{escape(LABELS[result.verdict])}</span>"
        f"<span class=title>{escape(case.title)}</span>"
        f"<a class=anchor href='#case-{escape(row['key'])}' title='link to this case'>#</a></summary>",
        f"<p class=where>{escape(row['key'])} · § {escape(case.section)} · "
        f"{escape(case.cell or 'beyond the document')} · <code>{escape(case.file)}:{case.line}</code>"
        f"{' · document drift' if row['drift'] else ''}</p>",
        _code(case, first),
    ]
    if result.given:
        parts.append(_given_note(result.given))
    if result.error:
        parts.append(f"<pre class=error>{escape(result.error)}</pre>")
    if result.spec_errors:
        parts.append("<div class=spec><h4>Claims that fail on torch itself (spec errors)</h4><ul>"
                     + "".join(f"<li>{escape(claim)}</li>" for claim in result.spec_errors) + "</ul></div>")
    if case.known_divergence:
        parts.append(f"<p class=known-note>Known divergence: {escape(case.known_divergence['reason'])}</p>")
    if result.device_difference is not None:
        parts.append(f"<p class=known-note>Declared device difference: {escape(result.device_difference)}</p>")
    rewrites = [f"{name}: {'; '.join(result.traces[role].normalized)}"
                for role, name in (("actual", actual_name), ("expected", expected_name))
                if role in result.traces and result.traces[role].normalized]
    if rewrites:
        parts.append("<p class=normalized>Device fields normalised (cuda:0 read as cpu) before comparing — "
                     f"{escape(' · '.join(rewrites))}</p>")
    if result.divergences:
        parts.append(_divergence_table(result, expected_name, actual_name))
        parts.append(_third_opinion(result, expected_name, actual_name))
        parts += [_value_grid(d, expected_name, actual_name) for d in result.divergences if d.kind == "value"
                  and isinstance(d.expected, list)][:3]
        parts.append(_sharing_graphs(result, first, expected_name, actual_name))
    parts.append(_autograd_view(result, expected_name, actual_name))
    parts.append(_output_diff(result, expected_name, actual_name))
    if first is not None:
        snippet = repro_snippet(case, first.step, expected_name, actual_name)
        parts.append("<div class=repro><h4>Repro <button type=button class=copy>copy</button></h4>"
                     f"<pre>{escape(snippet)}</pre></div>")
    parts.append("</details>")
    return "\n".join(part for part in parts if part)


_SHOWN = {"failing": "the failing example, shrunk", "unrunnable": "the example that could not run",
          "diverging": "the first example with divergences", "first": "the first example"}


def _given_note(given):
    """A ``given:`` case: its parameters, how many examples ran, and the one shown."""
    parameters = ", ".join(f"<code>{escape(name)}: {escape(text)}</code>" for name, text in given["parameters"].items())
    values = "; ".join(f"{name} = {value}" for name, value in given["example"].items())
    return (f"<p class=given>Checked over {given['ran']} drawn examples (at most {given['examples']}) of "
            f"{parameters}. Shown: {escape(_SHOWN[given['shown']])}, <code>{escape(values)}</code> "
            "(the code's first line binds it).</p>")


def _third_opinion(result, expected_name, actual_name):
    """Where grads differ: float64 central differences, and which side they find closer."""
    if not result.third_opinion:
        return ""
    names = {"expected": expected_name, "actual": actual_name}
    rows = []
    for entry in result.third_opinion:
        head = f"<td>{escape(entry['variable'])}.grad</td><td>{entry['line']}</td>"
        if entry["reason"]:
            rows.append(f"<tr>{head}<td colspan=4>no estimate: {escape(entry['reason'])}</td></tr>")
            continue
        sides = "".join(
            f"<td class={'same' if entry[f'{role}_within'] else 'differs'}>"
            f"{'within tolerance' if entry[f'{role}_within'] else 'off'}, max error {entry[f'{role}_error']:.3g}</td>"
            for role in ("expected", "actual"))
        rows.append(f"<tr>{head}<td><code>{escape(_short(entry['estimate'], 80))}</code></td>{sides}"
                    f"<td><b>{escape(names[entry['closer']])}</b></td></tr>")
    return ("<table class=third-opinion><caption>Third opinion: float64 central differences of the loss</caption>"
            f"<thead><tr><th>grad</th><th>line</th><th>estimate</th><th>{escape(expected_name)}</th>"
            f"<th>{escape(actual_name)}</th><th>closer</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _code(case, first):
    lines = []
    for offset, text in enumerate(case.code.rstrip("\n").split("\n")):
        number = case.code_line + offset
        hit = first is not None and number == first.line
        lines.append(f"<span class='line{' hit' if hit else ''}'><span class=no>{number}</span>"
                     f"{escape(text) or ' '}</span>")
    return "<pre class=code>" + "".join(lines) + "</pre>"


def _divergence_table(result, expected_name, actual_name):
    rows = []
    for d in result.divergences:
        rows.append(
            f"<tr><td><span class=kind>{escape(d.kind)}</span></td><td>{d.line}</td>"
            f"<td>{escape(d.variable or '')}</td><td>{escape(d.detail)}</td>"
            f"<td><code>{escape(_short(d.expected))}</code></td><td><code>{escape(_short(d.actual))}</code></td></tr>")
    return ("<table class=divergences><thead><tr><th>kind</th><th>line</th><th>variable</th><th>what</th>"
            f"<th>{escape(expected_name)}</th><th>{escape(actual_name)}</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _short(value, limit=160):
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _value_grid(divergence, expected_name, actual_name):
    """Both tensors as grids, the differing cells marked with both values and the differences."""
    kind = "f" if any(isinstance(v, float) or v in ("nan", "inf", "-inf") for v in _flat(divergence.expected)) else "i"
    try:
        expected = decode_values(divergence.expected, "f" if kind == "f" else "other")
        actual = decode_values(divergence.actual, "f" if kind == "f" else "other")
    except (TypeError, ValueError):
        return ""
    if expected.shape != actual.shape or expected.size > 400:
        return ""
    expected2, actual2 = _as_matrix(expected), _as_matrix(actual)
    rtol, atol = TOLERANCES["float32"]
    cells = []
    for i in range(expected2.shape[0]):
        row = []
        for j in range(expected2.shape[1]):
            e, a = expected2[i, j], actual2[i, j]
            same = _same(e, a, rtol, atol)
            title = "" if same else f" title='abs {_difference(e, a)[0]}, rel {_difference(e, a)[1]}'"
            content = (f"{_fmt(e)}" if same else
                       f"<span class=exp>{_fmt(e)}</span><span class=act>{_fmt(a)}</span>"
                       f"<span class=delta>Δ {_difference(e, a)[0]}</span>")
            row.append(f"<td class='{'same' if same else 'differs'}'{title}>{content}</td>")
        cells.append("<tr>" + "".join(row) + "</tr>")
    return (f"<figure class=grid><figcaption><b>{escape(divergence.variable or '')}</b> at line {divergence.line}: "
            f"cells that differ show <span class=exp>{escape(expected_name)}</span> over "
            f"<span class=act>{escape(actual_name)}</span></figcaption><table>" + "".join(cells) + "</table></figure>")


def _flat(value):
    if isinstance(value, list):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def _as_matrix(array):
    if array.ndim == 0:
        return array.reshape(1, 1)
    if array.ndim == 1:
        return array.reshape(1, -1)
    return array.reshape(-1, array.shape[-1])


def _same(e, a, rtol, atol):
    if isinstance(e, float) and math.isnan(e) and isinstance(a, float) and math.isnan(a):
        return True
    try:
        return bool(abs(float(a) - float(e)) <= atol + rtol * abs(float(e))) if isinstance(e, float) else e == a
    except (TypeError, ValueError):
        return e == a


def _difference(e, a):
    try:
        absolute = abs(float(a) - float(e))
        relative = absolute / abs(float(e)) if float(e) != 0 else math.inf
        return f"{absolute:.3g}", f"{relative:.3g}"
    except (TypeError, ValueError):
        return "?", "?"


def _fmt(value):
    if isinstance(value, float):
        return escape(f"{value:.6g}")
    return escape(str(value.item() if hasattr(value, "item") else value))


def _sharing_graphs(result, first, expected_name, actual_name):
    """Who shares memory with whom, drawn for each backend at the first divergent statement."""
    if first is None or not result.traces:
        return ""
    step_index = first.step
    traces = result.traces
    steps = {role: trace.steps[min(step_index, len(trace.steps) - 1)] for role, trace in traces.items()
             if trace.steps}
    if len(steps) < 2:
        return ""
    names = sorted({name for step in steps.values() for name, obs in step.variables.items()
                    if obs and obs.get("memory") is not None})
    if len(names) < 2 and not any(step.sharing for step in steps.values()):
        return ""
    edges = {role: {tuple(pair) for pair in step.sharing} for role, step in steps.items()}
    graphs = "".join(_graph_svg(names, edges[role], edges["actual" if role == "expected" else "expected"], label)
                     for role, label in (("expected", expected_name), ("actual", actual_name)))
    return f"<div class=graphs><h4>Memory sharing after line {first.line}</h4>{graphs}</div>"


def _graph_svg(names, edges, other_edges, label):
    size, radius = 220, 80
    center = size / 2
    points = {}
    for index, name in enumerate(names):
        angle = 2 * math.pi * index / max(1, len(names)) - math.pi / 2
        points[name] = (center + radius * math.cos(angle), center + radius * math.sin(angle))
    lines = []
    for a, b in sorted(edges):
        if a in points and b in points:
            css = "edge" if (a, b) in other_edges else "edge only"
            (x1, y1), (x2, y2) = points[a], points[b]
            lines.append(f"<line class='{css}' x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}'/>")
    for a, b in sorted(other_edges - edges):
        if a in points and b in points:
            (x1, y1), (x2, y2) = points[a], points[b]
            lines.append(f"<line class='edge missing' x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}'/>")
    nodes = "".join(f"<g class=node><circle cx='{x:.1f}' cy='{y:.1f}' r='16'/>"
                    f"<text x='{x:.1f}' y='{y + 4:.1f}'>{escape(name[:6])}</text></g>"
                    for name, (x, y) in points.items())
    return (f"<figure class=graph><svg viewBox='0 0 {size} {size}' role=img aria-label='sharing in {escape(label)}'>"
            f"{''.join(lines)}{nodes}</svg><figcaption>{escape(label)}</figcaption></figure>")


def _autograd_view(result, expected_name, actual_name):
    """Each tensor's grad_fn chain and grad, side by side, where either backend has one."""
    if len(result.traces) < 2:
        return ""
    finals = {role: trace.steps[-1].variables for role, trace in result.traces.items() if trace.steps}
    if len(finals) < 2:
        return ""
    rows = []
    for name in sorted(set(finals["expected"]) | set(finals["actual"])):
        cells = []
        for role in ("expected", "actual"):
            obs = finals[role].get(name) or {}
            cells.append(_autograd_cell(obs))
        if any(cells):
            css = " class=differs" if cells[0] != cells[1] else ""
            rows.append(f"<tr{css}><td>{escape(name)}</td><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
    if not rows:
        return ""
    return ("<table class=autograd><thead><tr><th>tensor</th>"
            f"<th>{escape(expected_name)}: grad_fn → next · grad</th><th>{escape(actual_name)}</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>")


def _autograd_cell(obs):
    if obs.get("type") != "tensor":
        return ""
    parts = []
    grad_fn = obs.get("grad_fn")
    if isinstance(grad_fn, dict) and "name" in grad_fn:
        nexts = ", ".join(str(n) for n in grad_fn.get("next", []))
        parts.append(f"<code>{escape(grad_fn['name'])}</code> → {escape(nexts)}")
    elif obs.get("requires_grad") is True:
        parts.append("leaf, requires_grad")
    grad = obs.get("grad")
    if isinstance(grad, dict) and "values" in grad:
        parts.append(f"grad <code>{escape(_short(grad['values'], 80))}</code>")
    return " · ".join(parts)


def _output_diff(result, expected_name, actual_name):
    """Printed output: the document (when the case has it), torch and the implementation."""
    outputs = {role: trace.stdout() for role, trace in result.traces.items()}
    if not any(outputs.values()) and not result.document:
        return ""
    columns = []
    if result.document:
        columns.append(("document", result.document["text"]))
    columns += [(expected_name, outputs.get("expected", "")), (actual_name, outputs.get("actual", ""))]
    reference = outputs.get("expected", "").splitlines()
    rendered = []
    for label, text in columns:
        lines = text.splitlines()
        body = "".join(
            f"<span class='{'same' if i < len(reference) and line.rstrip() == reference[i].rstrip() else 'changed'}'>"
            f"{escape(line) or ' '}</span>" for i, line in enumerate(lines))
        rendered.append(f"<div><h5>{escape(label)}</h5><pre>{body}</pre></div>")
    return "<div class=outputs><h4>Printed output</h4><div class=three>" + "".join(rendered) + "</div></div>"


_STYLE = """
:root{--fg:#1c2430;--muted:#5d6878;--line:#dde3ea;--bg:#f6f8fa;--ok:#1f8a4c;--bad:#c4352b;--warn:#b7791f;
--info:#2b6cb0;--soft-ok:#e5f5ec;--soft-bad:#fdecea;--soft-warn:#fff6e0;--soft-info:#e8f0fb}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:var(--fg);margin:0;
background:#fff}header,nav.controls,section.matrix,main{max-width:76rem;margin:0 auto;padding:0 1.2rem}
header{padding-top:1.6rem}h1{font-size:1.55rem;margin:.2rem 0 .4rem}h1 code{font-size:1.35rem}
.lead{color:var(--muted);margin:.2rem 0 1rem;max-width:52rem}
.badges{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.8rem}
.badge{padding:.25rem .7rem;border-radius:1rem;font-weight:600;text-decoration:none;color:var(--fg);
border:1px solid var(--line)}
.agree{background:var(--soft-ok)}.diverge,.spec_error,.now_agreeing{background:var(--soft-bad)}
.error{background:var(--soft-warn)}.known,.skipped,.device_difference,.reference_more_accurate{background:var(--soft-info)}
.pending{background:#fff8e6}p.normalized{color:var(--muted);font-size:.85rem}
.badge.drift{background:#f3ecfb}
dl.meta{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:.1rem 1rem;font-size:.85rem;
color:var(--muted);margin:0 0 1rem}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
nav.controls{position:sticky;top:0;background:rgba(255,255,255,.96);padding:.6rem 1.2rem;display:flex;gap:.6rem;
align-items:center;border-bottom:1px solid var(--line);z-index:2}
nav button{border:1px solid var(--line);background:#fff;padding:.3rem .7rem;border-radius:.4rem;cursor:pointer}
nav button.active{background:var(--fg);color:#fff}
#search{flex:1;padding:.35rem .6rem;border:1px solid var(--line);border-radius:.4rem;min-width:10rem}
section.matrix details{margin:.5rem 0}section.matrix summary{cursor:pointer;font-weight:600}
.small{color:var(--muted);font-weight:400;font-size:.85rem}
table{border-collapse:collapse}th,td{padding:.25rem .5rem;border-bottom:1px solid var(--line);text-align:left;
vertical-align:top}td.cell{text-align:center;font-weight:700;min-width:3rem}
details.case{border:1px solid var(--line);border-radius:.6rem;margin:.8rem 0;padding:.3rem 1rem;background:#fff}
details.case>summary{cursor:pointer;display:flex;gap:.6rem;align-items:center;padding:.3rem 0;list-style:none}
details.case>summary::-webkit-details-marker{display:none}
.verdict{padding:.1rem .55rem;border-radius:.3rem;font-size:.8rem;font-weight:700;white-space:nowrap}
.title{font-weight:600;flex:1}.anchor{color:var(--muted);text-decoration:none}
.where{color:var(--muted);font-size:.85rem;margin:.1rem 0 .5rem}
pre{background:var(--bg);padding:.6rem .8rem;border-radius:.4rem;overflow:auto;font-size:.85rem}
pre.code .line{display:block}pre.code .no{display:inline-block;width:3rem;color:#9aa5b4;user-select:none}
pre.code .hit{background:#ffe1dc;box-shadow:inset 3px 0 var(--bad)}
table.divergences{width:100%;font-size:.85rem;margin:.6rem 0}
table.third-opinion{font-size:.85rem;margin:.6rem 0}table.third-opinion caption{text-align:left;font-weight:600}
p.given{font-size:.9rem}
.kind{background:var(--soft-bad);padding:.05rem .4rem;border-radius:.3rem;font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-word}
figure{margin:.6rem 0}figure.grid table td{font-family:ui-monospace,monospace;font-size:.8rem;
border:1px solid var(--line);text-align:right}
td.differs{background:#fff0ee}td.differs span{display:block}span.exp{color:var(--ok)}span.act{color:var(--bad)}
span.delta{color:var(--muted);font-size:.7rem}
.graphs{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}.graphs h4{width:100%;margin:.4rem 0 0}
figure.graph svg{width:220px;height:220px;background:var(--bg);border-radius:.5rem}
figure.graph figcaption{text-align:center;font-weight:600}
.edge{stroke:#7d8ca3;stroke-width:2.5}.edge.only{stroke:var(--bad);stroke-width:3.5}
.edge.missing{stroke:var(--bad);stroke-dasharray:5 4;stroke-width:2}
.node circle{fill:#fff;stroke:var(--fg);stroke-width:1.5}.node text{font-size:10px;text-anchor:middle}
table.autograd{font-size:.85rem;margin:.6rem 0}table.autograd tr.differs td{background:#fff5f3}
.three{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.6rem}
.three h5{margin:.2rem 0}.three pre span{display:block}.three pre span.changed{background:#ffe8e4}
.repro h4 button{margin-left:.6rem;font-size:.75rem}
.error{white-space:pre-wrap}.hidden{display:none!important}
.load-errors{border:1px solid var(--warn);border-radius:.5rem;padding:.2rem 1rem;background:var(--soft-warn)}
"""

_SCRIPT = """
(function(){
  const cases = Array.from(document.querySelectorAll('details.case'));
  const rows = Array.from(document.querySelectorAll('section.matrix tr[data-key]'));
  let filter = 'all';
  function matches(el){
    const c = el.classList;
    if (filter === 'failing') return c.contains('failing');
    if (filter === 'known') return c.contains('known') || c.contains('pending') || c.contains('device_difference')
      || c.contains('reference_more_accurate');
    if (filter === 'drift') return c.contains('drift');
    if (filter !== 'all') return c.contains(filter);
    return true;
  }
  function apply(){
    const q = document.getElementById('search').value.trim().toLowerCase();
    const shown = new Set();
    cases.forEach(el => {
      const ok = matches(el) && (!q || el.dataset.search.includes(q));
      el.classList.toggle('hidden', !ok);
      if (ok) shown.add(el.id.slice(5));
    });
    rows.forEach(r => r.classList.toggle('hidden', !shown.has(r.dataset.key)));
  }
  document.querySelectorAll('[data-filter]').forEach(b => b.addEventListener('click', e => {
    e.preventDefault();
    filter = b.dataset.filter;
    document.querySelectorAll('nav [data-filter]').forEach(
      x => x.classList.toggle('active', x.dataset.filter === filter));
    apply();
  }));
  document.getElementById('search').addEventListener('input', apply);
  document.getElementById('expand').addEventListener('click', () => cases.forEach(c => c.open = true));
  document.getElementById('collapse').addEventListener('click', () => cases.forEach(c => c.open = false));
  document.querySelectorAll('button.copy').forEach(b => b.addEventListener('click', () => {
    const text = b.closest('.repro').querySelector('pre').textContent;
    const done = () => { b.textContent = 'copied'; setTimeout(() => b.textContent = 'copy', 1500); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, done); return; }
    const area = document.createElement('textarea'); area.value = text; document.body.appendChild(area);
    area.select(); try { document.execCommand('copy'); } finally { area.remove(); } done();
  }));
  if (location.hash) {
    const target = document.querySelector(location.hash);
    if (target && target.tagName === 'DETAILS') target.open = true;
  }
})();
"""
