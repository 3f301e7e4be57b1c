"""lake.uploads: the bookkeeping of staged uploads, pieces in order or refused (no server)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from onelake_contents.credential import AsyncBrokerCredential
from onelake_contents.lake.files import LakeFiles
from onelake_contents.lake.uploads import StagedUpload, UploadRefused, Uploads, block_id, staging_path
from onelake_contents.paths import PathMapper
from onelake_contents.storage import OneLakeStore

TARGET = "Item.Lakehouse/Files/home/big.bin"


@pytest.fixture
async def uploads():
    """Uploads over a files layer whose OneLake is not there: bookkeeping needs no request (the
    background sweep of chunk 1 fails quietly)."""
    credential = AsyncBrokerCredential("https://127.0.0.1:9", client_token="unused", retries=0)
    store = OneLakeStore("https://127.0.0.1:9", "ws", credential, retry_total=0)
    files = LakeFiles(store, PathMapper("Item.Lakehouse/Files/home"))
    yield Uploads(files, timeout=60)
    await files.close()
    await credential.close()


def test_staging_is_hidden_beside_the_target_and_unique():
    first, second = staging_path(TARGET), staging_path(TARGET)
    assert first != second
    assert first.startswith("Item.Lakehouse/Files/home/.ipynb_checkpoints/.onelake-uploads~/big.bin.")


def test_block_ids_have_one_length_and_keep_their_order():
    ids = [base64.b64decode(block_id(i)) for i in (0, 9, 10, 12345)]
    assert len({len(i) for i in ids}) == 1 and ids == sorted(ids)


def test_a_staged_upload_counts_what_arrived():
    upload = StagedUpload(TARGET, staging_path(TARGET))
    upload.add(block_id(0), b"abc")
    upload.add(block_id(1), b"de")
    assert (upload.size, len(upload.blocks)) == (5, 2)
    assert upload.digest.hexdigest() == hashlib.sha256(b"abcde").hexdigest()


async def test_pieces_come_in_non_decreasing_order_and_a_first_piece_restarts(uploads):
    """As jupyter_server's LargeFileManager numbers them: 1 starts, any higher or equal number
    adds, -1 is the last (after any number); a lower number cannot be the same upload."""
    first = uploads.piece(TARGET, 1)
    first.add(block_id(0), b"a")
    assert uploads.piece(TARGET, 2) is first
    assert uploads.piece(TARGET, 2) is first  # the same number again: one more piece
    assert uploads.piece(TARGET, 5) is first  # numbers may skip
    with pytest.raises(UploadRefused, match="piece 3 arrived out of order, after piece 5"):
        uploads.piece(TARGET, 3)
    with pytest.raises(UploadRefused, match="no upload"):
        uploads.piece(TARGET, 6)  # the out-of-order piece dropped the upload
    again = uploads.piece(TARGET, 1)
    assert again is not first and again.staging != first.staging
    assert uploads.piece(TARGET, 1) is not again  # 1 again: starts over
    assert uploads.piece(TARGET, -1).last_piece == 1  # the last piece may come at any number
    with pytest.raises(UploadRefused, match="no upload"):
        uploads.piece("Item.Lakehouse/Files/home/other.bin", 2)


async def test_an_upload_untouched_for_the_timeout_is_abandoned(uploads):
    upload = uploads.piece(TARGET, 1)
    upload.touched -= 61
    with pytest.raises(UploadRefused):
        uploads.piece(TARGET, 2)
