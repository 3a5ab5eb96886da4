"""Release quality scored by rubrics that are data: rules per check, evidence per point.

A rubric is five weighted checks (changelog 25, binaries 20, checksums 20, signatures 20, SBOM 15,
the original script's weights) plus an unweighted provenance column. Each check is a list of rules
over the release body or its artifact names; a check passes when any rule matches, and its
evidence names the first rule that matched and what it matched. `seed` is the original script's
rules exactly; `default` adds rules only, so it can never score a release lower.

Scoring runs as one DuckDB query per rubric (the rules become SQL predicates, the evidence and
the score SQL expressions), so a million releases take a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, overload

import duckdb
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.classify import (
    CERTIFICATE_SUFFIXES,
    PROVENANCE_SUFFIXES,
    SCORECARD_PROVENANCE_SUFFIXES,
    SCORECARD_SIGNATURE_SUFFIXES,
    SIGNATURE_SUFFIXES,
)
from release_assets.lib.latest import latest_per_repo

Target = Literal["body", "artifact"]
Match = Literal["suffix", "contains", "regex"]


@dataclass(frozen=True)
class Rule:
    target: Target
    match: Match
    pattern: str
    case_sensitive: bool = True
    note: str = ""  # what a regex means, for people reading the evidence

    def describe(self) -> str:
        if self.note:
            return self.note
        verb = {"suffix": "ends with", "contains": "contains", "regex": "matches"}[self.match]
        case = "" if self.case_sensitive else " (any case)"
        return f"{verb} {self.pattern!r}{case}"


@dataclass(frozen=True)
class Check:
    name: str  # column stem: has_<name>, <name>_evidence
    label: str  # shown in reports ("Changelog")
    weight: int
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Rubric:
    name: str
    description: str
    checks: tuple[Check, ...]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    @property
    def weighted(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.weight)


def _suffixes(*patterns: str, case_sensitive: bool = True) -> tuple[Rule, ...]:
    return tuple(Rule("artifact", "suffix", p, case_sensitive) for p in patterns)


def _contains(*patterns: str, case_sensitive: bool = False) -> tuple[Rule, ...]:
    return tuple(Rule("artifact", "contains", p, case_sensitive) for p in patterns)


# The original script's rules, character for character: `"CHANGELOG.md" in body or "## " in body`,
# `name.endswith(('.tar.gz', '.zip', '.exe'))`, `'checksum'/'sha256' in name.lower()`,
# `name.endswith('.sig'/'.asc')`, `'sbom'/'spdx'/'cyclonedx' in name.lower()`.
SEED = Rubric(
    name="seed",
    description="The original release-metrics.py rules, exactly (a null body scores no changelog).",
    checks=(
        Check("changelog", "Changelog", 25, (
            Rule("body", "contains", "CHANGELOG.md"), Rule("body", "contains", "## "),
        )),
        Check("binaries", "Binaries", 20, _suffixes(".tar.gz", ".zip", ".exe")),
        Check("checksums", "Checksums", 20, _contains("checksum", "sha256")),
        Check("signatures", "Signatures", 20, _suffixes(".sig", ".asc")),
        Check("sbom", "SBOM", 15, _contains("sbom", "spdx", "cyclonedx")),
        Check("provenance", "Provenance", 0, ()),
    ),
)

_PACKAGES = (
    ".tar.gz", ".zip", ".exe", ".tgz", ".tar.xz", ".tar.zst", ".tar.bz2", ".txz", ".7z",
    ".deb", ".rpm", ".apk", ".dmg", ".pkg", ".msi", ".msix", ".appimage", ".snap", ".flatpak",
    ".whl", ".jar", ".nupkg", ".gem", ".crate", ".vsix", ".appx",
)

# Every seed rule is repeated first, so `default` ⊇ `seed` holds by construction (a test also
# checks it over every release we have).
DEFAULT = Rubric(
    name="default",
    description=(
        "Seed plus Scorecard's signature suffixes, provenance, OS packages and installers, "
        "checksum manifests and SBOM formats."
    ),
    checks=(
        Check("changelog", "Changelog", 25, (
            *SEED.check("changelog").rules,
            Rule("body", "regex", r"(?m)^#{1,6}\s+\S", note="has a Markdown heading"),
            Rule("body", "contains", "changelog", case_sensitive=False),
            Rule("body", "contains", "release notes", case_sensitive=False),
            Rule("body", "regex", r"(?m)^\s*[-*+]\s+\S.*\n\s*[-*+]\s+\S",
                 note="has a list of changes (two or more bullet lines)"),
        )),
        Check("binaries", "Binaries", 20, (
            *SEED.check("binaries").rules,
            *_suffixes(*_PACKAGES, case_sensitive=False),
        )),
        Check("checksums", "Checksums", 20, (
            *SEED.check("checksums").rules,
            *_contains("sha512", "shasum", "sha256sum", "sha512sum", "sha1sum"),
            *_suffixes(".sha256", ".sha512", ".md5", case_sensitive=False),
        )),
        Check("signatures", "Signatures", 20, (
            *SEED.check("signatures").rules,
            # Scorecard's suffixes first (case-sensitive, as Scorecard matches), then the
            # classifier's signatures, signed in-toto attestations and certificates, any case.
            *_suffixes(*SCORECARD_SIGNATURE_SUFFIXES),
            *_suffixes(*SCORECARD_PROVENANCE_SUFFIXES),
            *_suffixes(*SIGNATURE_SUFFIXES, *PROVENANCE_SUFFIXES, *CERTIFICATE_SUFFIXES,
                       case_sensitive=False),
        )),
        Check("sbom", "SBOM", 15, (
            *SEED.check("sbom").rules,
            *_suffixes(".cdx.json", ".cdx.xml", ".spdx.json", ".spdx", "bom.json", "bom.xml",
                       case_sensitive=False),
        )),
        Check("provenance", "Provenance", 0, (
            *_suffixes(*SCORECARD_PROVENANCE_SUFFIXES),
            *_suffixes(*PROVENANCE_SUFFIXES, case_sensitive=False),
        )),
    ),
)

RUBRICS: dict[str, Rubric] = {r.name: r for r in (SEED, DEFAULT)}
CHECK_NAMES = tuple(c.name for c in SEED.checks)
WEIGHTED_NAMES = tuple(c.name for c in SEED.weighted)


def get_rubric(name: str) -> Rubric:
    try:
        return RUBRICS[name]
    except KeyError:
        raise ValueError(f"unknown rubric {name!r}; known: {sorted(RUBRICS)}") from None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _predicate(rule: Rule, column: str) -> str:
    value = column if rule.case_sensitive else f"lower({column})"
    pattern = rule.pattern if rule.case_sensitive else rule.pattern.lower()
    if rule.match == "suffix":
        return f"coalesce(ends_with({value}, {_literal(pattern)}), false)"
    if rule.match == "contains":
        return f"coalesce(contains({value}, {_literal(pattern)}), false)"
    flags = "" if rule.case_sensitive else "(?i)"
    return f"coalesce(regexp_matches({column}, {_literal(flags + rule.pattern)}), false)"


def _first_rule(rules: Sequence[tuple[int, Rule]], column: str) -> str:
    """The index of the first matching rule, NULL when none matches."""
    if not rules:
        return "CAST(NULL AS INTEGER)"
    whens = " ".join(f"WHEN {_predicate(rule, column)} THEN {i}" for i, rule in rules)
    return f"CASE {whens} END"


def _describe(rules: Sequence[tuple[int, Rule]], index: str) -> str:
    """SQL for the description of the rule numbered `index`."""
    whens = " ".join(f"WHEN {i} THEN {_literal(rule.describe())}" for i, rule in rules)
    return f"CASE {index} {whens} END" if rules else "CAST(NULL AS VARCHAR)"


def score_sql(rubric: Rubric) -> str:
    """One query over `scope_releases` and `scope_artifacts` (tables the caller defines): per
    release, each check's pass and evidence (the first rule met, and by which artifact), the
    score and what is missing. All of it in DuckDB: a million releases in seconds."""
    artifact_cols, body_cols, aggregates, outputs = [], [], [], []
    score_terms, missing_terms = [], []
    for check in rubric.checks:
        c = check.name
        on_body = [(i, r) for i, r in enumerate(check.rules) if r.target == "body"]
        on_name = [(i, r) for i, r in enumerate(check.rules) if r.target == "artifact"]
        artifact_cols.append(f"{_first_rule(on_name, 'name')} AS {c}_rule")
        # the first rule any artifact meets, and (stable) the first name meeting it
        aggregates.append(
            f"min(struct_pack(r := {c}_rule, n := name)) FILTER (WHERE {c}_rule IS NOT NULL) "
            f"AS {c}_match"
        )
        body_cols.append(f"{_first_rule(on_body, 'r.body')} AS {c}_body_rule")
        passed = f"(b.{c}_body_rule IS NOT NULL OR m.{c}_match.r IS NOT NULL)"
        outputs.append(
            f"{passed} AS has_{c}, "
            f"CASE WHEN b.{c}_body_rule IS NOT NULL "
            f"THEN 'release body ' || {_describe(on_body, f'b.{c}_body_rule')} "
            f"ELSE m.{c}_match.n || ' ' || {_describe(on_name, f'm.{c}_match.r')} END "
            f"AS {c}_evidence"
        )
        if check.weight:
            score_terms.append(f"CASE WHEN {passed} THEN {check.weight} ELSE 0 END")
            missing_terms.append(f"CASE WHEN NOT {passed} THEN {_literal(check.label)} END")
    score = " + ".join(score_terms) or "0"
    missing = f"concat_ws(', ', {', '.join(missing_terms)})" if missing_terms else "''"
    return f"""
        WITH a AS (
            SELECT release_id, name, {', '.join(artifact_cols)} FROM scope_artifacts
        ), m AS (
            SELECT release_id, {', '.join(aggregates)} FROM a GROUP BY release_id
        ), b AS (
            SELECT r.release_id, {', '.join(body_cols)} FROM scope_releases r
        )
        SELECT r.release_id, r.repo, r.tag, {_literal(rubric.name)} AS rubric, r.draft,
               r.prerelease, r.published_at, r.list_position,
               coalesce(c.artifacts, 0) AS asset_count,
               coalesce(length(r.body), 0) AS body_length,
               {', '.join(outputs)},
               CAST({score} AS BIGINT) AS score, {missing} AS missing
        FROM scope_releases r
        JOIN b USING (release_id)
        LEFT JOIN m USING (release_id)
        LEFT JOIN (SELECT release_id, count(*) AS artifacts FROM scope_artifacts
                   GROUP BY release_id) c USING (release_id)
    """


def define_scope(con: duckdb.DuckDBPyConnection, repos: Sequence[str] | None) -> None:
    """Temp tables `scope_releases` / `scope_artifacts`: the columns scoring reads of the stored,
    not deleted, rows of `repos` (all repositories when None)."""
    where = "deleted_at IS NULL" + (
        "" if repos is None else f" AND {storage.in_repositories(param='$repos')}"
    )
    params = {} if repos is None else {"repos": list(repos)}
    for scope, columns, table in (
        ("scope_releases",
         "release_id, repo, tag, draft, prerelease, published_at, list_position, body",
         "releases"),
        ("scope_artifacts", "release_id, name", "release_artifacts"),
    ):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {scope} AS SELECT {columns} FROM {table} WHERE {where}",
            params,
        )


def score_releases(
    con: duckdb.DuckDBPyConnection, rubric: Rubric, repos: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per stored (not deleted) release: has_<check>, <check>_evidence, score, missing."""
    define_scope(con, repos)
    return con.execute(score_sql(rubric)).df()


@overload
def below_threshold(score: int, threshold: int) -> bool: ...
@overload
def below_threshold(score: pd.Series, threshold: int) -> pd.Series: ...
def below_threshold(score: pd.Series | int, threshold: int) -> pd.Series | bool:
    """The one comparison of a score with `quality.threshold`: a score equal to it passes."""
    return score < threshold


def scorecard_signed_releases(scores: pd.DataFrame, lookback: int = 5) -> pd.DataFrame:
    """OpenSSF Scorecard's Signed-Releases score per repository, from artifact names.

    Over the `lookback` most recent published releases that have artifacts: 10 for provenance,
    8 for a signature, else 0; the floor of the average. No such release: NULL (Scorecard says
    inconclusive).
    """
    considered = scores[(~scores["draft"].astype(bool)) & (scores["asset_count"] > 0)]
    considered = considered.sort_values(["repo", "list_position"]).groupby("repo").head(lookback)
    points = (
        considered["scorecard_provenance"].map({True: 10, False: 0})
        .where(considered["scorecard_provenance"], considered["scorecard_signed"].map({True: 8, False: 0}))
    )
    grouped = points.groupby(considered["repo"])
    result = pd.DataFrame({
        "scorecard_releases_considered": grouped.size(),
        "scorecard_signed_releases": (grouped.sum() // grouped.size()).astype("int64"),
    })
    return result.reset_index().rename(columns={"index": "repo"})


def scorecard_flags(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per release in `scope_artifacts`: has a Scorecard signature / provenance suffix."""
    signed = " OR ".join(f"ends_with(name, {_literal(s)})" for s in SCORECARD_SIGNATURE_SUFFIXES)
    prov = " OR ".join(f"ends_with(name, {_literal(s)})" for s in SCORECARD_PROVENANCE_SUFFIXES)
    return con.execute(
        f"SELECT release_id, bool_or({signed}) AS scorecard_signed, "
        f"bool_or({prov}) AS scorecard_provenance FROM scope_artifacts GROUP BY release_id"
    ).df()


def repository_summary(scores: pd.DataFrame, flags: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """One row per repository: latest release and score, mean, releases below the threshold,
    and the Scorecard Signed-Releases comparison."""
    if scores.empty:
        return pd.DataFrame(columns=REPOSITORY_COLUMNS)
    # Group by integer codes (in the names' sort order), not a million strings.
    codes, names = pd.factorize(scores["repo"], sort=True)
    merged = scores.assign(repo=codes).merge(flags, on="release_id", how="left")
    for column in ("scorecard_signed", "scorecard_provenance"):
        merged[column] = merged[column].astype("boolean").fillna(False).astype(bool)
    published = merged[~merged["draft"].astype(bool)]
    latest = latest_per_repo(merged).set_index("repo")
    grouped = published.groupby("repo")
    summary = pd.DataFrame({
        "releases_scored": grouped.size(),
        "mean_score": grouped["score"].mean().round(1),
        "releases_below_threshold": below_threshold(published["score"], threshold)
        .groupby(published["repo"]).sum(),
    })
    summary = summary.join(latest[["tag", "score", "missing"]].rename(columns={
        "tag": "latest_tag", "score": "latest_score", "missing": "latest_missing"}), how="outer")
    summary = summary.reset_index().rename(columns={"index": "repo"})
    summary = summary.merge(scorecard_signed_releases(merged), on="repo", how="left")
    summary["repo"] = names[summary["repo"].to_numpy()]
    for column in ("scorecard_signed_releases", "scorecard_releases_considered"):
        summary[column] = summary[column].astype("Int64")
    summary["rubric"] = scores["rubric"].iloc[0]
    summary["threshold"] = threshold
    return summary[REPOSITORY_COLUMNS]


REPOSITORY_COLUMNS = [
    "repo", "rubric", "threshold", "latest_tag", "latest_score", "latest_missing",
    "releases_scored", "mean_score", "releases_below_threshold",
    "scorecard_signed_releases", "scorecard_releases_considered",
]
