"""GitHub's GraphQL endpoint for the test server: the schema this project queries, GitHub's cost
model (points, node limits, pagination boundaries), cursors, and the resolvers over the World."""

from __future__ import annotations

import base64
import json
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from release_assets_tests.github_server.common import (
    JSON,
    PLACEHOLDER,
    Reply,
    Request,
    ServerStats,
    iso,
    json_reply,
    latest_release,
    not_found,
)
from release_assets_tests.github_server.limits import RateLimits
from release_assets_tests.github_server.world import Repo, World

SCHEMA_SDL = """
scalar DateTime
scalar URI
enum OrderDirection { ASC DESC }
enum ReleaseOrderField { CREATED_AT NAME }
input ReleaseOrder { field: ReleaseOrderField!, direction: OrderDirection! }
enum RepositoryPrivacy { PUBLIC PRIVATE }
type PageInfo { hasNextPage: Boolean!, hasPreviousPage: Boolean!, startCursor: String, endCursor: String }
type RateLimit { cost: Int!, limit: Int!, nodeCount: Int!, remaining: Int!, resetAt: DateTime!, used: Int! }
type Actor { login: String! }
type Ref { name: String! }
type ReleaseAsset {
  id: ID!, databaseId: Int, name: String!, contentType: String!, size: Int!, downloadCount: Int!,
  digest: String, downloadUrl: URI!, createdAt: DateTime!, updatedAt: DateTime!, url: URI!
}
type ReleaseAssetEdge { cursor: String!, node: ReleaseAsset }
type ReleaseAssetConnection {
  totalCount: Int!, pageInfo: PageInfo!, nodes: [ReleaseAsset], edges: [ReleaseAssetEdge]
}
type Release {
  id: ID!, databaseId: Int, tagName: String!, name: String, description: String,
  isDraft: Boolean!, isPrerelease: Boolean!, isLatest: Boolean!, createdAt: DateTime!,
  publishedAt: DateTime, updatedAt: DateTime!, url: URI!, author: Actor,
  releaseAssets(first: Int, after: String, last: Int, before: String, name: String): ReleaseAssetConnection!
}
type ReleaseEdge { cursor: String!, node: Release }
type ReleaseConnection { totalCount: Int!, pageInfo: PageInfo!, nodes: [Release], edges: [ReleaseEdge] }
type Repository {
  id: ID!, databaseId: Int, name: String!, nameWithOwner: String!, owner: Actor!, url: URI!,
  isArchived: Boolean!, isFork: Boolean!, isPrivate: Boolean!, isDisabled: Boolean!,
  createdAt: DateTime!, updatedAt: DateTime!, pushedAt: DateTime, defaultBranchRef: Ref,
  latestRelease: Release, release(tagName: String!): Release,
  releases(first: Int, after: String, last: Int, before: String, orderBy: ReleaseOrder): ReleaseConnection!
}
type RepositoryEdge { cursor: String!, node: Repository }
type RepositoryConnection { totalCount: Int!, pageInfo: PageInfo!, nodes: [Repository], edges: [RepositoryEdge] }
type Organization {
  id: ID!, databaseId: Int, login: String!, name: String, url: URI!,
  repositories(first: Int, after: String, last: Int, before: String, isFork: Boolean,
               isArchived: Boolean, privacy: RepositoryPrivacy): RepositoryConnection!
}
type User { login: String! }
type Query {
  repository(owner: String!, name: String!): Repository
  organization(login: String!): Organization
  rateLimit(dryRun: Boolean = false): RateLimit
  viewer: User!
}
"""
SCHEMA = build_schema(SCHEMA_SDL)
MAX_NODES = 500_000


class _GraphQLCostError(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _query_cost(document: Any, operation_name: str | None, variables: JSON) -> tuple[int, int]:
    """(points, nodes) by GitHub's rule; raises on a connection without a valid first/last."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (o for o in operations if operation_name is None or
         (o.name is not None and o.name.value == operation_name)), None,
    )
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition")}
    totals = [0, 0]  # requests, nodes

    def walk(selection_set: SelectionSetNode, parent: GraphQLObjectType, multiplier: int) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(fragment.selection_set, SCHEMA.get_type(fragment.type_condition.name.value),
                     multiplier)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = SCHEMA.get_type(selection.type_condition.name.value) if (
                    selection.type_condition) else parent
                walk(selection.selection_set, inner, multiplier)
                continue
            assert isinstance(selection, FieldNode)
            name = selection.name.value
            if name.startswith("__") or name not in parent.fields:
                continue
            named = get_named_type(parent.fields[name].type)
            child = multiplier
            if named.name.endswith("Connection"):
                args = {a.name.value: value_from_ast_untyped(a.value, variables)
                        for a in selection.arguments}
                count = args.get("first") if args.get("first") is not None else args.get("last")
                which = "first" if args.get("first") is not None else "last"
                if count is None:
                    raise _GraphQLCostError(
                        f"You must provide a `first` or `last` value to properly paginate the "
                        f"`{name}` connection.", "MISSING_PAGINATION_BOUNDARIES")
                if not 1 <= int(count) <= 100:
                    raise _GraphQLCostError(
                        f"Requesting {count} records on the `{name}` connection exceeds the "
                        f"`{which}` limit of 100 records." if count > 100 else
                        f"`{which}` on the `{name}` connection cannot be less than 1.",
                        "EXCESSIVE_PAGINATION")
                totals[0] += multiplier
                totals[1] += multiplier * int(count)
                child = multiplier * int(count)
            if selection.selection_set is not None and isinstance(named, GraphQLObjectType):
                walk(selection.selection_set, named, child)

    if operation is not None:
        walk(operation.selection_set, SCHEMA.query_type, 1)
    if totals[1] > MAX_NODES:
        raise _GraphQLCostError(
            f"This query requests up to {totals[1]:,} possible nodes which exceeds the maximum "
            f"limit of {MAX_NODES:,}.", "MAX_NODE_LIMIT_EXCEEDED")
    return max(1, math.floor(totals[0] / 100 + 0.5)), totals[1]


def cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def cursor_index(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, number = text.rpartition(":")
        if prefix != "cursor:v2":
            raise ValueError(text)
        return int(number)
    except ValueError:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def _connection(items: list[Any], render: Callable[[Any], JSON], first: int | None = None,
                after: str | None = None, last: int | None = None,
                before: str | None = None) -> JSON:
    start, end = 0, len(items)
    if after is not None:
        start = min(end, cursor_index(after) + 1)
    if before is not None:
        end = max(start, min(end, cursor_index(before)))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    window = range(start, end)
    nodes = [render(items[i]) for i in window]
    return {
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items), "hasPreviousPage": start > 0,
            "startCursor": cursor(start) if nodes else None,
            "endCursor": cursor(end - 1) if nodes else None,
        },
        "nodes": nodes,
        "edges": [{"cursor": cursor(i), "node": n} for i, n in zip(window, nodes, strict=True)],
    }


class GraphQLRoutes:
    """`POST /graphql`, mixed into GitHubServer after RestRoutes (whose `_visible` it uses)."""

    world: World
    url: str
    limits: RateLimits
    stats: ServerStats
    _lock: threading.Lock

    def _graphql(self, request: Request) -> Reply:
        if request.method != "POST":
            return not_found()
        try:
            payload = json.loads(request.body or b"{}")
            query = payload["query"]
            variables = payload.get("variables") or {}
            operation = payload.get("operationName")
            document = parse(query)
        except (ValueError, KeyError, TypeError, GraphQLError) as exc:
            message = exc.message if isinstance(exc, GraphQLError) else "Problems parsing JSON"
            return _graphql_reply({"errors": [{"message": message}]}, points=0)
        problems = validate(SCHEMA, document)
        if problems:
            return _graphql_reply({"errors": [e.formatted for e in problems]}, points=0)
        try:
            cost, nodes = _query_cost(document, operation, variables)
        except _GraphQLCostError as exc:
            return _graphql_reply({"errors": [{"type": exc.kind, "message": str(exc)}]}, points=0)
        if self.limits.exhausted(request.identity, "graphql", cost):
            reply = _graphql_reply({"errors": [{
                "type": "RATE_LIMITED",
                "message": "API rate limit exceeded for user ID 1."}]}, points=0)
            return reply
        # charged before execution, so `rateLimit` reports this query
        self.limits.charge(request.identity, "graphql", cost)
        context = {"request": request, "cost": cost, "nodes": nodes, "latest": {}}
        with self.world.lock:
            result = execute(SCHEMA, document, root_value=self._graphql_root(),
                             context_value=context, variable_values=variables,
                             operation_name=operation)
        out: JSON = {"data": result.data}
        if result.errors:
            out["errors"] = []
            for error in result.errors:
                formatted = dict(error.formatted)
                kind = (formatted.pop("extensions", None) or {}).get("type")
                if kind:
                    formatted["type"] = kind
                out["errors"].append(formatted)
        reply = _graphql_reply(out, points=0)
        with self._lock:  # recorded as spent points (the bucket was charged above)
            self.stats.rate_limit_points += cost
            by_token = self.stats.points_by_token
            by_token[request.identity] = by_token.get(request.identity, 0) + cost
        return reply

    def _graphql_root(self) -> JSON:
        return {"repository": self._gql_repository, "organization": self._gql_organization,
                "rateLimit": self._gql_rate_limit,
                "viewer": lambda info: {"login": "release-assets-test"}}

    def _gql_rate_limit(self, info: Any, dryRun: bool = False) -> JSON:  # noqa: N803
        context = info.context
        snapshot = self.limits.snapshot(context["request"].identity, "graphql")
        return {"cost": context["cost"], "limit": snapshot["limit"],
                "remaining": snapshot["remaining"], "used": snapshot["used"],
                "nodeCount": context["nodes"],
                "resetAt": iso(datetime.fromtimestamp(snapshot["reset"], UTC))}

    def _gql_repository(self, info: Any, owner: str, name: str) -> JSON:
        world = self.world
        full = f"{owner}/{name}"
        repo = world._find_repo(full) or world._find_repo(world.moved.get(full.lower(), ""))
        anonymous = info.context["request"].identity == "anonymous"
        if repo is None or (repo.data["private"] and anonymous):
            raise GraphQLError(f"Could not resolve to a Repository with the name '{full}'.",
                               extensions={"type": "NOT_FOUND"})
        return self._gql_repo_node(repo, info.context)

    def _gql_organization(self, info: Any, login: str) -> JSON:
        org = self.world._orgs.get(login.lower())
        if org is None:
            raise GraphQLError(
                f"Could not resolve to an Organization with the login of '{login}'.",
                extensions={"type": "NOT_FOUND"})
        context = info.context

        def repositories(info: Any, first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None,
                         isFork: bool | None = None, isArchived: bool | None = None,  # noqa: N803
                         privacy: str | None = None) -> JSON:
            repos = [r for r in self.world._owned(login)
                     if (isFork is None or r.data["fork"] == isFork)
                     and (isArchived is None or r.data["archived"] == isArchived)
                     and (privacy is None or r.data["visibility"] == privacy.lower())]
            return _connection(repos, lambda r: self._gql_repo_node(r, context),
                               first, after, last, before)

        return {"id": org["node_id"], "databaseId": org["id"], "login": org["login"],
                "name": org["login"], "url": f"{self.url}/{org['login']}",
                "repositories": repositories}

    def _gql_repo_node(self, repo: Repo, context: JSON) -> JSON:
        data = repo.data
        visible = self._visible(context["request"], repo)

        def releases(info: Any, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     orderBy: JSON | None = None) -> JSON:  # noqa: N803
            items = visible
            if orderBy is not None:
                key = "created_at" if orderBy["field"] == "CREATED_AT" else "tag_name"
                # stable: ties keep GitHub's list order
                items = sorted(items, key=lambda r: str(r[key]),
                               reverse=orderBy["direction"] == "DESC")
            return _connection(items, lambda r: self._gql_release(repo, r, context),
                               first, after, last, before)

        def release(info: Any, tagName: str) -> JSON | None:  # noqa: N803
            found = next((r for r in visible if r["tag_name"] == tagName), None)
            return self._gql_release(repo, found, context) if found else None

        latest = latest_release(visible)
        return {
            "id": data["node_id"], "databaseId": data["id"], "name": data["name"],
            "nameWithOwner": data["full_name"], "owner": {"login": data["owner"]["login"]},
            "url": data["html_url"].replace(PLACEHOLDER, self.url),
            "isArchived": data["archived"], "isFork": data["fork"], "isPrivate": data["private"],
            "isDisabled": data["disabled"], "createdAt": data["created_at"],
            "updatedAt": data["updated_at"], "pushedAt": data["pushed_at"],
            "defaultBranchRef": {"name": data["default_branch"]},
            "latestRelease": self._gql_release(repo, latest, context) if latest else None,
            "release": release, "releases": releases,
        }

    def _gql_release(self, repo: Repo, rel: JSON, context: JSON) -> JSON:
        latest = context["latest"]
        if repo.full_name not in latest:
            found = latest_release(self._visible(context["request"], repo))
            latest[repo.full_name] = found["id"] if found else None
        html = f"{PLACEHOLDER}/{repo.full_name}/releases/tag/{quote(str(rel['tag_name']), safe='')}"

        def assets(info: Any, first: int | None = None, after: str | None = None,
                   last: int | None = None, before: str | None = None,
                   name: str | None = None) -> JSON:
            items = [a for a in rel["assets"] if name is None or a["name"] == name]
            return _connection(items, partial(self._gql_artifact, repo, rel),
                               first, after, last, before)

        author = rel.get("author") or {}
        return {
            "id": rel["node_id"], "databaseId": rel["id"], "tagName": rel["tag_name"],
            "name": rel.get("name"), "description": rel.get("body"), "isDraft": rel["draft"],
            "isPrerelease": rel["prerelease"], "isLatest": latest[repo.full_name] == rel["id"],
            "createdAt": rel["created_at"], "publishedAt": rel.get("published_at"),
            "updatedAt": rel["updated_at"],
            "url": str(rel.get("html_url") or html).replace(PLACEHOLDER, self.url),
            "author": {"login": author["login"]} if author.get("login") else None,
            "releaseAssets": assets,
        }

    def _gql_artifact(self, repo: Repo, rel: JSON, artifact: JSON) -> JSON:
        full = self.world.render_artifact(repo, rel, artifact)
        return {
            "id": full["node_id"], "databaseId": full["id"], "name": full["name"],
            "contentType": full["content_type"], "size": full["size"],
            "downloadCount": full["download_count"], "digest": full["digest"],
            "downloadUrl": full["browser_download_url"].replace(PLACEHOLDER, self.url),
            "url": full["url"].replace(PLACEHOLDER, self.url),
            "createdAt": full["created_at"], "updatedAt": full["updated_at"],
        }


def _graphql_reply(payload: JSON, *, points: int) -> Reply:
    reply = json_reply(200, payload, points=points)
    reply.resource = "graphql"
    return reply
