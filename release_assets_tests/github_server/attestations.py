"""GitHub's artifact attestations on the test server: one digest per repository
(`GET /repos/{o}/{r}/attestations/{digest}`) and many digests per org
(`POST /orgs/{org}/attestations/bulk-list`, paged by cursor)."""

from __future__ import annotations

import json

from graphql import GraphQLError

from release_assets_tests.github_server.common import (
    BULK_ATTESTATIONS_DOCS,
    JSON,
    Reply,
    Request,
    int_param,
    json_reply,
    not_found,
)
from release_assets_tests.github_server.graphql import cursor, cursor_index
from release_assets_tests.github_server.world import World

MAX_BULK_DIGESTS = 1024


class AttestationRoutes:
    """Mixed into GitHubServer after RestRoutes (whose `_repo_or_reply` and `_ok` it uses)."""

    world: World

    def _get_attestations(self, request: Request, params: dict[str, str]) -> Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        bundles = self.world._attestations.get((repo.full_name.lower(), params["digest"]))
        if not bundles:
            return not_found(
                "https://docs.github.com/rest/repos/repos#list-attestations")
        return self._ok({"attestations": [
            {"bundle": b, "repository_id": repo.data["id"], "bundle_url": None} for b in bundles
        ]}, repo)

    def _attestations_bulk(self, request: Request, params: dict[str, str]) -> Reply:
        """`POST /orgs/{org}/attestations/bulk-list`: attestations of many digests, paged by cursor."""
        world, docs = self.world, BULK_ATTESTATIONS_DOCS
        if request.method != "POST":
            return not_found(docs)
        if params["org"].lower() not in world._orgs:
            return not_found(docs)
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            return json_reply(400, {"message": "Problems parsing JSON", "documentation_url": docs,
                                     "status": "400"})
        digests = payload.get("subject_digests") if isinstance(payload, dict) else None
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            return json_reply(422, {
                "message": "Invalid request.\n\n\"subject_digests\" wasn't supplied.",
                "documentation_url": docs, "status": "422"})
        if len(digests) > MAX_BULK_DIGESTS:
            return json_reply(422, {
                "message": f"Invalid request.\n\nNo more than {MAX_BULK_DIGESTS} items may be "
                           "provided for subject_digests.",
                "documentation_url": docs, "status": "422"})
        visible = {r.full_name.lower(): r for r in world._owned(params["org"])
                   if not (r.data["private"] and request.identity == "anonymous")}
        found = [(digest, {"bundle": bundle, "repository_id": visible[name].data["id"],
                           "bundle_url": None})
                 for digest in dict.fromkeys(digests)
                 for name in world._attested_in.get(digest, []) if name in visible
                 for bundle in world._attestations.get((name, digest), [])]
        per_page = min(100, max(1, int_param(request.param("per_page"), 30)))
        try:
            start = cursor_index(request.param("after") or cursor(0))
        except GraphQLError:
            return json_reply(422, {"message": "Invalid request.\n\n\"after\" is not a valid cursor.",
                                     "documentation_url": docs, "status": "422"})
        page = found[start:start + per_page]
        listed: dict[str, list[JSON] | None] = {}
        if start == 0:  # digests with nothing attested are named once, on the first page
            listed = {d: None for d in dict.fromkeys(digests)}
        for digest, attestation in page:
            listed[digest] = [*(listed.get(digest) or []), attestation]
        end = start + len(page)
        info = {"has_next": end < len(found), "has_previous": start > 0,
                "next": cursor(end) if end < len(found) else "",
                "previous": cursor(max(0, start - per_page)) if start > 0 else ""}
        return json_reply(200, {"attestations_subject_digests": listed, "page_info": info})
