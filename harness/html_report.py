"""HTML report: one self-contained page, rebuilt from RunResults alone.

Every string that comes from a case, a value or an exception goes through ``escape``.
"""

import json
from html import escape

from .repro import repro_snippet
from .runner import LABELS, VERDICTS

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#1d232b}
h1{font-size:1.4rem}.meta{color:#5a6572}
.counts span,.verdict{display:inline-block;margin-right:.6rem;padding:.1rem .5rem;border-radius:.3rem}
.agree{background:#e3f4e6}.diverge,.spec_error{background:#fde8e4}.error{background:#fff2cc}
.known,.skipped{background:#e6eef7}.pending{background:#fff6db}.now_agreeing{background:#f1e6fa}
details.case{border:1px solid #d6dbe1;border-radius:.4rem;margin:.6rem 0;padding:.2rem 1rem}
summary{cursor:pointer;font-weight:600}
pre{background:#f5f7f9;padding:.6rem;overflow:auto}
pre .hit{background:#ffd7cf;display:block}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e7eb;padding:.3rem;
text-align:left;vertical-align:top}code{font-size:12px;word-break:break-all}
"""


def render(runs):
    """The report page for one or more RunResults, as a string."""
    parts = ["<!doctype html><html lang=en><meta charset=utf-8>",
             "<title>PyTorch conformance report</title>", f"<style>{_STYLE}</style>",
             "<h1>PyTorch conformance report</h1>"]
    for run in runs:
        parts.append(_run_section(run))
    return "\n".join(parts) + "\n</html>\n"


def _run_section(run):
    counts = run.counts()
    env = run.environment
    versions = ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in env.get("backends", {}).items())
    drifted = sum(1 for r in run.results if r.drifted)
    parts = [
        f"<h2>{escape(run.backends['actual'])} compared with {escape(run.backends['expected'])}</h2>",
        f"<p class=meta>{escape(run.created)} · Python {escape(env.get('python', '?'))} · numpy "
        f"{escape(env.get('numpy', '?'))} · {versions} · revision {escape(env.get('revision', '?'))}</p>",
        "<p class=counts>" + "".join(f"<span class={v}>{counts.get(v, 0)} {escape(LABELS[v])}</span>"
                                     for v in VERDICTS) + f"<span>{drifted} document drift</span></p>",
    ]
    if run.load_errors:
        parts.append("<h3>Files that could not be loaded</h3><ul>")
        parts += [f"<li><code>{escape(e)}</code></li>" for e in run.load_errors]
        parts.append("</ul>")
    parts += [_case_panel(result, run.backends) for result in run.results]
    return "\n".join(parts)


def _case_panel(result, backends):
    case = result.case
    first = result.divergences[0] if result.divergences else None
    code_lines = []
    for offset, text in enumerate(case.code.rstrip("\n").split("\n")):
        css = " class=hit" if first and case.code_line + offset == first.line else ""
        code_lines.append(f"<span{css}>{escape(text) or ' '}</span>")
    drift = " · document drift" if result.drifted else ""
    parts = [
        f"<details class=case id='case-{escape(result.key)}'{' open' if first else ''}>",
        f"<summary><span class='verdict {result.verdict}'>{escape(LABELS[result.verdict])}</span>"
        f"{escape(case.title)}</summary>",
        f"<p class=meta>{escape(result.key)} · section {escape(case.section)}"
        f" · {escape(case.cell or 'beyond the document')} · {escape(case.file)}:{case.line}{drift}</p>",
        "<pre>" + "\n".join(code_lines) + "</pre>",
    ]
    if result.error:
        parts.append(f"<pre>{escape(result.error)}</pre>")
    if result.spec_errors:
        parts.append("<p>Claims that fail on torch (spec errors):</p><ul>"
                     + "".join(f"<li>{escape(c)}</li>" for c in result.spec_errors) + "</ul>")
    if result.divergences:
        parts.append("<table><tr><th>kind</th><th>line</th><th>what</th><th>torch</th><th>under test</th></tr>")
        for d in result.divergences:
            parts.append(
                f"<tr><td>{escape(d.kind)}</td><td>{d.line}</td><td>{escape(d.detail)}</td>"
                f"<td><code>{escape(json.dumps(d.expected))}</code></td>"
                f"<td><code>{escape(json.dumps(d.actual))}</code></td></tr>")
        parts.append("</table>")
        snippet = repro_snippet(case, first.step, backends["expected"], backends["actual"])
        parts.append(f"<p>Repro:</p><pre>{escape(snippet)}</pre>")
    if result.document:
        outputs = {role: trace.stdout() for role, trace in result.traces.items()}
        parts.append("<table><tr><th>document</th><th>torch</th><th>under test</th></tr><tr>"
                     f"<td><pre>{escape(result.document['text'])}</pre></td>"
                     f"<td><pre>{escape(outputs.get('expected', ''))}</pre></td>"
                     f"<td><pre>{escape(outputs.get('actual', ''))}</pre></td></tr></table>")
    parts.append("</details>")
    return "\n".join(parts)
