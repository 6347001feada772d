"""Write an evaluation to disk: `metrics.json` for programs, `report.md` for people.

The Markdown report is plain tables plus the PNGs beside it, so it reads well on GitHub, in an
editor, or as text in a terminal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from maskwatch.atomic import atomic_write_text

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def render_report(result: dict) -> str:
    """Markdown text for one evaluation result (as returned by `evaluate_model`)."""
    m = result["metrics"]
    labels = m["labels"]
    lines = [f"# {result.get('title') or 'Evaluation report'}", ""]
    skipped_note = f" ({len(result['skipped'])} files skipped)" if result.get("skipped") else ""
    facts = [
        ("model", f"`{result.get('model', '?')}` ({result.get('runtime', '?')})"),
        ("data", result.get("data", "?")),
        ("samples", f"{m['n']}{skipped_note}"),
        ("created", result.get("created", "")),
    ]
    lines += [f"- **{key}**: {value}" for key, value in facts] + [""]
    lines += ["## Summary", ""]
    lines += _table(
        ["accuracy", "macro-F1", "weighted F1", "log loss", "samples"],
        [[_pct(m["accuracy"]), f"{m['macro_f1']:.3f}", f"{m['weighted_f1']:.3f}", f"{m['log_loss']:.4f}", m["n"]]],
    )
    lines += ["", "## Per class", ""]
    lines += _table(
        ["class", "precision", "recall", "F1", "support", "predicted"],
        [
            [label, f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", c["support"], c["predicted"]]
            for label, c in m["per_class"].items()
        ],
    )
    lines += ["", "## Confusion matrix", "", "Rows: true class; columns: predicted class.", ""]
    pairs = zip(m["confusion_matrix"], m["confusion_matrix_normalized"], strict=True)
    lines += _table(
        ["true \\ predicted", *labels],
        [
            [labels[i], *(f"{count} ({_pct(share)})" for count, share in zip(row, norm_row, strict=True))]
            for i, (row, norm_row) in enumerate(pairs)
        ],
    )
    plots = result.get("plots", {})
    if "confusion_matrix" in plots:
        lines += ["", f"![confusion matrix]({Path(plots['confusion_matrix']).name})"]
    curves = [key for key in ("accuracy", "loss") if key in plots]
    if curves:
        lines += ["", "## Training curves", ""]
        lines += [f"![{key}]({Path(plots[key]).name})" for key in curves]
    mistakes = result.get("mistakes") or []
    if mistakes:
        lines += ["", "## Most confident mistakes", ""]
        lines += _table(
            ["file", "true", "predicted", "confidence"],
            [[f"`{x['path'] or x['index']}`", x["true"], x["predicted"], f"{x['confidence']:.3f}"] for x in mistakes],
        )
    skipped = result.get("skipped") or []
    if skipped:
        lines += ["", "## Skipped files", ""]
        lines += [f"- `{item}`" for item in skipped[:50]]
        if len(skipped) > 50:
            lines.append(f"- ... and {len(skipped) - 50} more (see {METRICS_FILE})")
    return "\n".join(lines) + "\n"


def write_report(result: dict, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write `metrics.json` and `report.md` into out_dir (atomically); return their paths."""
    out_dir = Path(out_dir)
    metrics_path = atomic_write_text(out_dir / METRICS_FILE, json.dumps(result, indent=2, default=str) + "\n")
    report_path = atomic_write_text(out_dir / REPORT_FILE, render_report(result))
    return {"metrics": metrics_path, "report": report_path}
