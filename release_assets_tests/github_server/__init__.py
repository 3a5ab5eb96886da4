"""A local GitHub-compatible HTTP server for tests and benchmarks.

`GitHubServer(world)` serves a `World` (orgs, repositories, releases, artifacts and their files,
contents, attestations) on 127.0.0.1 and speaks the parts of GitHub's protocol this project
depends on: JSON shapes, `Link` pagination, the REST 1,000-result ceiling, ETag/304 (ETags hash
the body as stored, so they do not depend on the port), per-token rate limits and their headers,
GraphQL with GitHub's cost model, 302 artifact downloads, bulk attestations. `load_demo_world()`
is the product's recorded demo snapshot as a World. Modules: world (state), routes (REST),
graphql, attestations, limits (rate limits and faults), server (HTTP), demo.

Faults
------
`server.inject(path_regex=None, status=None, times=1, headers=None, body=None, truncate=False,
delay=0.0, *, kind=None, repo=None, org=None, close_early=False, trickle=0.0, transform=None)`
queues a fault for the next `times` matching requests (`times=None`: every one until
`server.clear_faults()`). A request matches when its path+query matches `path_regex`
(`re.search`; None matches all) and, if given, is about `repo` ("owner/name": `/repos/owner/name…`,
`/repositories/{id}…`, its downloads and raw files) or `org` (`/orgs/{org}…`, `/users/{org}…`,
`/organizations/{id}…`). `kind` names a canned fault; explicit arguments add to or override it:

| kind | what the client gets |
|---|---|
| `close_early` | the normal status and headers with the full `Content-Length`, half the body, then the connection closed (`IncompleteRead` / `ChunkedEncodingError`) |
| `trickle` | the normal answer, one body byte every 5 s (`trickle=` seconds to change it) |
| `html_502` | 502 with GitHub's "Unicorn!" HTML page, `Content-Type: text/html` |
| `bad_credentials` | 401 `{"message": "Bad credentials"}` |
| `not_found` | 404 `{"message": "Not Found"}` (with `org=`: an org that does not exist) |
| `rate_limit_exhausted` | 403 "API rate limit exceeded", `X-RateLimit-Remaining: 0`, reset a day ahead; costs no point |
| `secondary_rate_limit` | 403 "You have exceeded a secondary rate limit", `Retry-After: 1` (override with `headers=`) |
| `non_object_item` | the normal JSON list with `null` after the first item and a string at the end |
| `release_without_id` | the first object with an `id` loses it |
| `huge_id` | the first object's `id` is 2**64 |
| `draft_string` | the first release's `draft` is the string `"false"` |
| `huge_count` | the first artifact's `download_count` is 2**64 |
| `float_count` | the first artifact's `download_count` is 1e300 |
| `negative_download_count` | the first artifact's `download_count` is -5 |
| `entry_without_full_name` | the first object with a `full_name` (an org listing's repository) loses it |

Without `kind`: `status=` answers that status with `body` (JSON, or a str sent as is) and
`headers`; `truncate=True` halves the body (with a matching `Content-Length`: invalid JSON);
`delay=` waits before answering; `transform=` rewrites the parsed JSON of the normal answer.
Hostile text is data, not a fault: `world.add_releases(repo, hostile_text_releases())` stores
tags, names, bodies and artifact names with `|`, newlines, `#`, HTML and a 5,000-digit tag.
"""

from release_assets_tests.github_server.common import iso
from release_assets_tests.github_server.demo import compose_verification_demo, load_demo_world
from release_assets_tests.github_server.limits import (
    FAULT_KINDS,
    FIVE_THOUSAND_DIGIT_TAG,
    Fault,
    hostile_text_releases,
)
from release_assets_tests.github_server.server import GitHubServer
from release_assets_tests.github_server.world import World

__all__ = [
    "FAULT_KINDS",
    "FIVE_THOUSAND_DIGIT_TAG",
    "Fault",
    "GitHubServer",
    "World",
    "compose_verification_demo",
    "hostile_text_releases",
    "iso",
    "load_demo_world",
]
