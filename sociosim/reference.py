"""The parameter reference, generated from the schema: name, default, allowed values, meaning, lever."""

from __future__ import annotations

from .config import ModelParams, describe_field

GROUP_TITLES = {
    "world": "World: value space, cultures, response catalogue",
    "utility": "True utility",
    "annotators": "Annotators",
    "reward_model": "Reward model and constitution",
    "policy": "Policy and optimisation pressure",
    "developer": "Developer",
    "shift": "Distribution shift",
    "users": "Users and their network",
    "regulators": "Regulators",
}


def parameter_rows() -> list[dict[str, str]]:
    """One row per parameter, in schema order."""
    rows = []
    for name, field in ModelParams.model_fields.items():
        extra = field.json_schema_extra or {}
        rows.append(
            {
                "name": name,
                "group": str(extra.get("group", "")),
                "lever": str(extra.get("lever", "")),
                "default": repr(field.default),
                "allowed": describe_field(name),
                "meaning": field.description or "",
            }
        )
    return rows


def parameter_reference(*, markdown: bool = False) -> str:
    """The reference as plain text or as Markdown tables grouped by model part."""
    rows = parameter_rows()
    lines: list[str] = []
    if markdown:
        lines += [
            "# Parameter reference",
            "",
            "Generated from `sociosim/config.py` by `sociosim describe --format markdown`; do not edit by hand.",
            "Every name is accepted as a flat override (`sociosim run --set NAME=VALUE`, `sociosim.run(NAME=...)`).",
            "The lever column names the MAPS lever (Misspecification, Annotation, Pressure, Shift) or the",
            "disclosure label a parameter belongs to.",
        ]
    for group, title in GROUP_TITLES.items():
        members = [r for r in rows if r["group"] == group]
        if not members:
            continue
        if markdown:
            lines += ["", f"## {title}", "", "| name | default | allowed | lever | meaning |", "|---|---|---|---|---|"]
            for r in members:
                lines.append(f"| `{r['name']}` | `{r['default']}` | {r['allowed']} | {r['lever']} | {r['meaning']} |")
        else:
            lines += ["", title, "-" * len(title)]
            for r in members:
                lever = f" [lever: {r['lever']}]" if r["lever"] else ""
                lines.append(f"{r['name']} = {r['default']}  ({r['allowed']}){lever}\n    {r['meaning']}")
    return "\n".join(lines).strip() + "\n"
