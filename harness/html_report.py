"""HTML report: one self-contained page, rebuilt from RunResults alone.

Every string that comes from a case, a value or an exception goes through ``escape``.
"""

import json
from html import escape

from .runner import AGREE, DIVERGE, ERROR

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d232b}
h1{font-size:1.4rem}.meta{color:#5a6572}
.counts span{display:inline-block;margin-right:1rem;padding:.2rem .6rem;border-radius:.3rem}
.agree{background:#e3f4e6}.diverge{background:#fde8e4}.error{background:#fff2cc}
section.case{border:1px solid #d6dbe1;border-radius:.4rem;margin:1rem 0;padding:.2rem 1rem}
pre{background:#f5f7f9;padding:.6rem;overflow:auto}
pre .hit{background:#ffd7cf;display:block}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e7eb;padding:.3rem;
text-align:left;vertical-align:top}code{font-size:12px}
"""


def render(run):
    """The report page for ``run`` as a string."""
    counts = run.counts()
    env = run.environment
    versions = ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in env.get("backends", {}).items())
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>Conformance: {escape(run.backends['actual'])} vs {escape(run.backends['expected'])}</title>",
        f"<style>{_STYLE}</style>",
        f"<h1>{escape(run.backends['actual'])} compared with {escape(run.backends['expected'])}</h1>",
        f"<p class=meta>{escape(run.created)} · Python {escape(env.get('python', '?'))} · numpy "
        f"{escape(env.get('numpy', '?'))} · {versions} · revision {escape(env.get('revision', '?'))}</p>",
        "<p class=counts>" + "".join(
            f"<span class={v}>{counts.get(v, 0)} {v}</span>" for v in (AGREE, DIVERGE, ERROR)) + "</p>",
    ]
    if run.load_errors:
        parts.append("<h2>Files that could not be loaded</h2><ul>")
        parts += [f"<li><code>{escape(e)}</code></li>" for e in run.load_errors]
        parts.append("</ul>")
    parts += [_case_panel(result) for result in run.results]
    return "\n".join(parts) + "\n</html>\n"


def _case_panel(result):
    case = result.case
    first_line = result.divergences[0].line if result.divergences else None
    code_lines = []
    for offset, text in enumerate(case.code.rstrip("\n").split("\n")):
        css = " class=hit" if case.code_line + offset == first_line else ""
        code_lines.append(f"<span{css}>{escape(text) or ' '}</span>")
    parts = [
        f"<section class=case id='case-{escape(case.id)}'>",
        f"<h2><span class={result.verdict}>{escape(result.verdict)}</span> {escape(case.title)}</h2>",
        f"<p class=meta>{escape(case.id)} · section {escape(case.section)}"
        f" · {escape(case.cell or 'beyond the document')} · {escape(case.file)}:{case.line}</p>",
        "<pre>" + "\n".join(code_lines) + "</pre>",
    ]
    if result.error:
        parts.append(f"<pre>{escape(result.error)}</pre>")
    if result.divergences:
        parts.append("<table><tr><th>kind</th><th>line</th><th>what</th><th>torch</th><th>under test</th></tr>")
        for d in result.divergences:
            parts.append(
                f"<tr><td>{escape(d.kind)}</td><td>{d.line}</td><td>{escape(d.detail)}</td>"
                f"<td><code>{escape(json.dumps(d.expected))}</code></td>"
                f"<td><code>{escape(json.dumps(d.actual))}</code></td></tr>")
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)
