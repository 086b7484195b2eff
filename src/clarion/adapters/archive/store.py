"""Archive storage through obstore: a local folder or an S3-compatible bucket,
the same calls for both."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.store import LocalStore, S3Store

if TYPE_CHECKING:
    from obstore.store import ClientConfig, ObjectStore, S3Config


class ObstoreArchive:
    """`location` is the store's URL, for logs and stats (no credentials: they
    come from the environment, never from the URL)."""

    def __init__(
        self, open_store: Callable[[], ObjectStore], location: str, *, local_root: Path | None
    ) -> None:
        self._open_store = open_store
        self._opened: ObjectStore | None = None
        self.location = location
        self._local_root = local_root

    @property
    def _store(self) -> ObjectStore:
        # opened on first use: a local folder is made only when archival runs
        if self._opened is None:
            self._opened = self._open_store()
        return self._opened

    @classmethod
    def local(cls, folder: Path) -> ObstoreArchive:
        folder = folder.resolve()
        return cls(
            lambda: LocalStore(folder, mkdir=True, automatic_cleanup=True),
            folder.as_uri(),
            local_root=folder,
        )

    @classmethod
    def s3(cls, url: str, *, endpoint: str | None, region: str | None) -> ObstoreArchive:
        """`url`: s3://bucket/prefix. Credentials, and the endpoint and region
        when not given here, come from the standard AWS_* variables."""
        options: ClientConfig = {}
        config: S3Config = {}
        if endpoint:
            config["endpoint"] = endpoint
            if endpoint.startswith("http://"):
                options["allow_http"] = True  # a bucket server on the local network
        if region:
            config["region"] = region

        def open_store() -> ObjectStore:
            return S3Store.from_url(url, config=config, client_options=options)

        return cls(open_store, url, local_root=None)

    @classmethod
    def from_url(
        cls, url: str, *, endpoint: str | None = None, region: str | None = None
    ) -> ObstoreArchive:
        if url.startswith(("s3://", "s3a://")):
            return cls.s3(url, endpoint=endpoint, region=region)
        if url.startswith("file://"):
            return cls.local(Path(url.removeprefix("file://")))
        raise ValueError("an archive URL is file:///absolute/folder or s3://bucket/prefix")

    async def put(self, name: str, data: bytes) -> None:
        # One request, no multipart upload: it stores the object whole or not at all.
        await obstore.put_async(self._store, name, data, use_multipart=False)
        if self._local_root is not None:
            # obstore renames a finished temporary file into place; syncing the
            # file and its folder makes that survive a power cut too.
            await asyncio.to_thread(_sync, self._local_root, name)

    async def get(self, name: str) -> bytes:
        result = await obstore.get_async(self._store, name)
        return bytes(await result.bytes_async())

    async def delete(self, names: list[str]) -> None:
        """Names that hold nothing are skipped (a local folder would refuse them)."""
        if self._local_root is not None:
            names = [n for n in names if (self._local_root / n).exists()]
        if names:
            await obstore.delete_async(self._store, names)

    async def names(self) -> list[str]:
        if self._local_root is not None and not self._local_root.exists():
            return []
        # collect_async: iterating a ListStream with `async for` crashed the
        # interpreter at exit with obstore 0.12.1
        found = await obstore.list(self._store, chunk_size=1000).collect_async()
        return [meta["path"] for meta in found]


def _sync(root: Path, name: str) -> None:
    """The file, then every folder from its own up to the root (new day folders
    are entries of their parents)."""
    path = root / name
    targets = [(path, os.O_RDONLY)]
    folder = path.parent
    while True:
        targets.append((folder, os.O_RDONLY | os.O_DIRECTORY))
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    for target, flags in targets:
        descriptor = os.open(target, flags)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
