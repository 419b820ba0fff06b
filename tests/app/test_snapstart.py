"""SnapStart: what init creates is made anew after each restore from the snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

from catalog_testkit import APP_ENV, REPO_ROOT, load_event, with_body, with_headers


def test_after_a_restore_the_dynamodb_client_is_new_and_the_routes_still_work(handler: ModuleType, dynamodb: Any,
                                                                              invoke: Any) -> None:
    before = handler.repository.client
    handler.after_restore()
    assert handler.repository.client is not before
    assert handler.repository.client.meta.config.connect_timeout == before.meta.config.connect_timeout
    assert invoke(load_event("list_items")).response["statusCode"] == 200
    # The idempotency layer is rebuilt on the new client at its next use.
    create = with_headers(with_body(load_event("create_item"), {"name": "pen", "price": 2.5}),
                          {"idempotency-key": "after-restore-0001"})
    first, replay = invoke(create).response, invoke(create).response
    assert first["statusCode"] == replay["statusCode"] == 201 and first["body"] == replay["body"]


def test_the_hook_is_registered_with_the_runtimes_snapshot_library(tmp_path: Path) -> None:
    # The library ships with Lambda's Python runtimes only: a stand-in records what is registered.
    (tmp_path / "snapshot_restore_py.py").write_text(textwrap.dedent("""
        registered = []
        def register_after_restore(function, *args, **kwargs):
            registered.append(function.__name__)
    """))
    script = textwrap.dedent("""
        import json, snapshot_restore_py
        from service import handler
        print(json.dumps({"hooked": handler.SNAPSTART_HOOKED, "registered": snapshot_restore_py.registered}))
    """)
    env = {**os.environ, **APP_ENV, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT / "app")])}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"hooked": True, "registered": ["after_restore"]}


def test_without_the_library_nothing_is_registered(handler: ModuleType) -> None:
    # Local runs and these tests: no SnapStart runtime.
    assert handler.SNAPSTART_HOOKED is False


def test_after_a_restore_random_is_reseeded_so_environments_do_not_share_a_sequence(handler: ModuleType,
                                                                                    dynamodb: Any) -> None:
    # Every environment restored from one snapshot starts with the generator state init left; botocore
    # draws its retry jitter from `random`, so without a reseed they would all back off in step.
    import random

    random.seed(1234)
    snapshot_state = random.getstate()
    handler.after_restore()
    restored = [random.random() for _ in range(4)]
    random.setstate(snapshot_state)
    assert restored != [random.random() for _ in range(4)]
