"""paths: API paths, OneLake paths under a root, and what never reaches OneLake (no server)."""

from __future__ import annotations

import pytest

from onelake_contents.paths import (
    MAX_PATH,
    InvalidPath,
    PathMapper,
    in_checkpoint_dir,
    is_hidden,
    join,
    normalize_api_path,
    split,
)


@pytest.mark.parametrize(("given", "canonical"), [("", ""), ("/", ""), ("/a/b/", "a/b"), ("a", "a"), (None, "")])
def test_api_paths_lose_their_outer_slashes(given, canonical):
    assert normalize_api_path(given) == canonical


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../x", 404),
        ("a/../../x", 404),
        ("a/./b", 404),
        ("a\\b", 400),
        ("a\x00b", 400),
        ("a//b", 400),
        ("x" * 256, 400),
    ],
)
def test_paths_that_must_never_reach_onelake_are_refused_with_their_status(path, status):
    with pytest.raises(InvalidPath) as info:
        normalize_api_path(path)
    assert info.value.status == status and info.value.message


def test_a_root_is_at_or_below_an_items_files_folder():
    assert PathMapper("/Item.Lakehouse/Files/home/a/").root == "Item.Lakehouse/Files/home/a"
    for bad in ("Item.Lakehouse", "Item.Lakehouse/Tables/x", "Item.Lakehouse/Files/../x"):
        with pytest.raises(ValueError):
            PathMapper(bad)


def test_onelake_paths_stay_under_the_root_and_within_azures_length():
    mapper = PathMapper("Item.Lakehouse/Files/home")
    assert mapper.to_onelake("") == "Item.Lakehouse/Files/home"
    assert mapper.to_onelake("/a/b.txt") == "Item.Lakehouse/Files/home/a/b.txt"
    with pytest.raises(InvalidPath) as info:
        mapper.to_onelake("/".join(["d" * 200] * 6))
    assert info.value.status == 400 and str(MAX_PATH) in info.value.message


def test_hidden_and_checkpoint_rules():
    assert is_hidden(".a") and is_hidden("x/.b/c") and not is_hidden("x/b.c")
    assert in_checkpoint_dir("a/.ipynb_checkpoints/n") and not in_checkpoint_dir("a/ipynb_checkpoints")
    assert split("a/b/c") == ("a/b", "c") and split("c") == ("", "c")
    assert join("", "c") == "c" and join("a", "c") == "a/c"
