"""In-toto statements: their subjects, and whether one names a file in a digest we have.

npm provenance names its package in sha512 only; GitHub gives artifacts' sha256. A subject is
matched in any algorithm both sides have; when they share none, the caller learns which
algorithms would be needed (and may hash the file to get one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class InTotoSubject:
    name: str
    digest: dict[str, str]


@dataclass(frozen=True)
class SubjectMatch:
    matched: str | None  # "sha512:<hex>" of the subject that names the file
    missing: tuple[str, ...]  # subject algorithms none of the known digests could be compared in


def parse_statement(payload: bytes) -> tuple[tuple[InTotoSubject, ...], str | None]:
    """An in-toto statement's subjects and predicate type (raises on a malformed statement)."""
    statement = json.loads(payload)
    subjects = tuple(
        InTotoSubject(
            str(s.get("name", "")), {str(k).lower(): str(v).lower() for k, v in s["digest"].items()}
        )
        for s in statement.get("subject", [])
    )
    return subjects, (str(statement.get("predicateType", "")) or None)


def match_subjects(subjects: tuple[InTotoSubject, ...], known: Mapping[str, str]) -> SubjectMatch:
    """Whether a subject names the file in any algorithm both sides have.

    `known` maps algorithm to hex. When no subject shares an algorithm with `known`, the
    algorithms the subjects do use are returned as missing (nothing could be compared).
    """
    compared = False
    for subject in subjects:
        for algorithm, hex_ in subject.digest.items():
            if algorithm in known:
                compared = True
                if known[algorithm].lower() == hex_:
                    return SubjectMatch(f"{algorithm}:{hex_}", ())
    if compared or not subjects:
        return SubjectMatch(None, ())
    return SubjectMatch(None, tuple(sorted({a for s in subjects for a in s.digest})))
