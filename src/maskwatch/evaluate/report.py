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
    if result.get("breakdown"):
        from maskwatch.evaluate.breakdown import breakdown_rows

        lines += ["", "## Real faces, by source and by face width", ""]
        lines += [
            "Width = the face's width in its source image. Real = every source not marked `real: false` "
            "(pasted-on or generated masks never count as evidence of real-world accuracy).",
            "",
        ]
        header = ["faces", "n", "accuracy", "macro-F1", *(f"recall {label}" for label in labels)]
        lines += _table(header, breakdown_rows(result["breakdown"], labels))
    scenes = result.get("scenes")
    if scenes:
        lines += [
            "",
            f"## Whole pipeline on the split's scenes ({scenes['images']} images, {scenes['faces']} faces)",
            "",
        ]
        aps = ", ".join(f"{label} {value:.3f}" for label, value in scenes["ap50"].items())
        lines += [
            f"mAP@0.5 **{scenes['map50']:.3f}** ({aps}); face recall {scenes['recall']['all']:.3f} "
            f"(>= 32 px: {scenes['recall']['min32']:.3f}); label accuracy on found faces "
            f"{scenes['label_accuracy_on_matched']:.3f}.",
            "",
        ]
        lines += _table(
            ["face width", "faces", "face recall", "label accuracy on found"],
            [
                [name, row["faces"], f"{row['recall']:.3f}", "-" if row["label_accuracy_on_found"] is None
                 else f"{row['label_accuracy_on_found']:.3f}"]
                for name, row in scenes.get("by_width", {}).items()
            ],
        )  # fmt: skip
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
