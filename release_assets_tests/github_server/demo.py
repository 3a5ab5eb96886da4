"""The product's demo snapshot loaded into a test World (tests add to it: orgs, faults, GraphQL)."""

from __future__ import annotations

from release_assets.demo import verification_demo
from release_assets.demo.snapshot import load_demo_snapshot
from release_assets_tests.github_server.world import World


def load_demo_world() -> World:
    """A World holding every demo repository, its releases and files, with the demo's ids."""
    world = World()
    for name, repo in load_demo_snapshot().items():
        world.import_repo(repo.data)
        world.add_releases(name, repo.releases)
        for (tag, file_name), content in repo.files.items():
            world.add_file(name, tag, file_name, content)
    return world


def compose_verification_demo(world: World) -> list[str]:
    """Attach jq's real manifests to the World's jq releases (and serve them); the tags changed.

    The demo's composition (`release_assets.demo.verification_demo`) applied to any World that
    holds `stedolan/jq`. Idempotent.
    """
    jq, name = verification_demo.JQ, verification_demo.JQ_MANIFEST
    try:
        releases = world.releases(jq)
    except KeyError:
        return []
    changed = []
    for position, release in enumerate(releases):
        content = verification_demo.manifest(release["tag_name"])
        if content is None or any(a["name"] == name for a in release["assets"]):
            continue
        # The World has no "upload an artifact" call: replace the release with the same ids.
        world.delete_release(jq, int(release["id"]))
        world.add_release(jq, verification_demo.with_manifest(release, content), position=position)
        world.add_file(jq, release["tag_name"], name, content)
        changed.append(release["tag_name"])
    return changed
