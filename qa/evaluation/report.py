"""Evaluation reports: report.json, report.md, PNG plots, and the text table the
command prints. Reads a finished report dict; computes nothing new."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS = ("hit@1", "hit@3", "hit@5", "mrr", "answerable_resolved", "unanswerable_unresolved",
           "escalation_precision", "escalation_recall", "escalation_f1", "balanced_accuracy")
MAX_FAILURES_MD = 60
MAX_CURVE_ROWS = 25


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_report(report: dict[str, Any], out: Path) -> dict[str, str]:
    """Write report.json, report.md and the plots into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "report.json", "markdown": out / "report.md",
             "scores_png": out / "scores.png", "hitk_png": out / "hit-at-k.png"}
    if "calibration" in report:
        files["calibration_png"] = out / "calibration.png"
    names = {k: str(v) for k, v in files.items()}
    full = {**report, "files": names}
    plot_scores(full, files["scores_png"])
    plot_hit_at_k(full, files["hitk_png"])
    if "calibration" in report:
        plot_calibration(full, files["calibration_png"])
    files["markdown"].write_text(render_markdown(full), encoding="utf-8")
    files["json"].write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return names


# --- text -------------------------------------------------------------------------

def metrics_table(report: dict[str, Any], markdown: bool) -> list[str]:
    systems = report["systems"]
    head = ["metric", *systems]
    rows = [[m, *(_fmt(s.get(m)) for s in systems.values())] for m in METRICS]
    rows.append(["threshold", *(_fmt(s["threshold"]) for s in systems.values())])
    rows.append(["threshold source", *(s["threshold_source"] for s in systems.values())])
    rows.append(["oracle threshold", *(_fmt(s["best_threshold"]) for s in systems.values())])
    rows.append(["oracle balanced acc.",
                 *(_fmt(s["best_balanced_accuracy"]) for s in systems.values())])
    rows.append(["places per passage",
                 *(_fmt(s["places_per_passage"]) for s in systems.values())])
    if markdown:
        return [_md_row(head), _md_row(["---"] * len(head)), *(_md_row(r) for r in rows)]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [head, *rows]]


SHORT = {"hit@1": "hit@1", "hit@3": "hit@3", "hit@5": "hit@5", "answerable_resolved": "AR",
         "unanswerable_unresolved": "UU", "balanced_accuracy": "BA"}


def _interval(found: dict[str, Any], signed: bool = False) -> str:
    value = found.get("value", found.get("difference"))
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(value)} [{f.format(found['low'])}, {f.format(found['high'])}]"


def _groups(found: dict[str, Any]) -> str:
    return f" in {found['groups']} groups" if found.get("groups", 1) > 1 else ""


def uncertainty_lines(report: dict[str, Any]) -> list[str]:
    """95% intervals of each system's rates, and ours minus each baseline
    (qa/evaluation/uncertainty.py); AR/UU: answerable resolved, unanswerable unresolved."""
    lines = ["95% intervals (Wilson, or a bootstrap over groups when the questions come "
             "from several policies; n = questions counted):"]
    for name, s in report["systems"].items():
        cells = [f"{SHORT[m]} {_interval(v)} n={v['n']}{_groups(v)}"
                 for m, v in s.get("intervals", {}).items()]
        lines.append(f"  {name:9s} " + "  ".join(cells))
    diffs = report.get("differences") or {}
    if diffs:
        lines.append("ours minus each baseline, same questions (paired bootstrap, 95%):")
        for name, found in diffs.items():
            cells = [f"{SHORT[m]} {_interval(v, signed=True)}{_groups(v)}"
                     for m, v in found.items()]
            lines.append(f"  {name:9s} " + "  ".join(cells))
    return lines


def _md_row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _curve_rows(curve: list[list[float]], best: float) -> list[list[float]]:
    step = max(1, len(curve) // MAX_CURVE_ROWS)
    rows = curve[::step]
    if not any(r[0] == best for r in rows):
        rows = sorted([*rows, next(r for r in curve if r[0] == best)])
    return rows


def calibration_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for name, cal in report.get("calibration", {}).items():
        lines.append(f"calibration ({name}): best threshold {cal['best_threshold']:.4f} -> "
                     f"balanced accuracy {cal['balanced_accuracy']:.3f} (answerable resolved "
                     f"{cal['answerable_resolved']:.3f}, unanswerable unresolved "
                     f"{cal['unanswerable_unresolved']:.3f})")
        lines.append("  threshold  bal.acc  ans.resolved  unans.unresolved")
        for t, ba, ar, uu in _curve_rows(cal["curve"], cal["best_threshold"]):
            mark = "  <- best" if t == cal["best_threshold"] else ""
            lines.append(f"  {t:9.4f}  {ba:7.3f}  {ar:12.3f}  {uu:16.3f}{mark}")
    return lines


def render_text(report: dict[str, Any]) -> str:
    lines = [f"{report['name']}: {report['questions']} questions "
             f"({report['answerable']} answerable, {report['unanswerable']} unanswerable), "
             f"model {report['model']}", ""]
    lines += metrics_table(report, markdown=False)
    lines += ["", *uncertainty_lines(report)]
    lines += ["", *calibration_lines(report)] if "calibration" in report else []
    lines += ["", f"{len(report['failures'])} failures of ours; report: {report['files']['json']}"
              f", {report['files']['markdown']}"]
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation: {report['name']}", "",
             f"Dataset `{report['dataset']}` ({report['format']}): {report['questions']} "
             f"questions, {report['answerable']} answerable, {report['unanswerable']} "
             f"unanswerable. Model `{report['model']}`.", "",
             *metrics_table(report, markdown=True), "",
             "hit@k by k:", "", _md_row(["system", *range(1, 11)]),
             _md_row(["---"] * 11)]
    for name, s in report["systems"].items():
        lines.append(_md_row([name, *(_fmt(v) for v in s["hit@k"].values())]))
    lines += ["", "## How sure these figures are", "", "```", *uncertainty_lines(report),
              "```"]
    lines += ["", "![score distributions](scores.png)", "", "![hit@k](hit-at-k.png)", ""]
    if "calibration" in report:
        lines += ["## Calibration", "", "```", *calibration_lines(report), "```", "",
                  "![calibration](calibration.png)", ""]
    failures = report["failures"]
    lines += [f"## Failures of ours ({len(failures)}; first {MAX_FAILURES_MD} shown)", "",
              _md_row(["question", "expected", "got", "confidence", "resolved", "scores"]),
              _md_row(["---"] * 6)]
    for r in failures[:MAX_FAILURES_MD]:
        expected = ", ".join(r["expected"]) if r["answerable"] else "(escalate)"
        question = f"{r['question']} ({r['group']})" if r["group"] else r["question"]
        lines.append(_md_row([question, expected, ", ".join(r["got"][:3]),
                              _fmt(r["confidence"]), _fmt(r["resolved"]),
                              " ".join(_fmt(x) for x in r["scores"])]))
    return "\n".join(lines) + "\n"


# --- plots ----------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scores(report: dict[str, Any], path: Path) -> None:
    """Confidence histograms, answerable vs unanswerable, threshold marked."""
    plt = _pyplot()
    systems = report["systems"]
    fig, axes = plt.subplots(1, len(systems), figsize=(5 * len(systems), 3.6), squeeze=False)
    for ax, (name, s) in zip(axes[0], systems.items(), strict=True):
        rows = report["per_question"][name]
        ans = [r["confidence"] for r in rows if r["answerable"]]
        unans = [r["confidence"] for r in rows if not r["answerable"]]
        bins = 30
        ax.hist(ans, bins=bins, alpha=0.6, label=f"answerable ({len(ans)})", color="tab:blue")
        if unans:
            ax.hist(unans, bins=bins, alpha=0.6, label=f"unanswerable ({len(unans)})",
                    color="tab:red")
        if s["threshold"] is not None:
            ax.axvline(s["threshold"], color="black", linestyle="--",
                       label=f"threshold {s['threshold']:.3f}")
        ax.set_title(name)
        ax.set_xlabel("confidence")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("questions")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_hit_at_k(report: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in report["systems"].items():
        ks = [int(k) for k in s["hit@k"]]
        ax.plot(ks, [v or 0.0 for v in s["hit@k"].values()], marker="o", label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("hit@k")
    ax.set_ylim(0, 1)
    ax.set_xticks(range(1, 11))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"hit@k: {report['name']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_calibration(report: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    cal = report["calibration"]
    fig, axes = plt.subplots(1, len(cal), figsize=(5 * len(cal), 3.6), squeeze=False)
    for ax, (name, c) in zip(axes[0], cal.items(), strict=True):
        t = [row[0] for row in c["curve"]]
        for col, label in ((1, "balanced accuracy"), (2, "answerable resolved"),
                           (3, "unanswerable unresolved")):
            ax.step(t, [row[col] for row in c["curve"]], where="post", label=label)
        ax.axvline(c["best_threshold"], color="black", linestyle="--",
                   label=f"best {c['best_threshold']:.3f}")
        ax.set_title(name)
        ax.set_xlabel("threshold")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
