"""S3 locations: parsing, and the '/'-boundary rules that keep a team inside its prefixes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.s3_location import S3Location, overlap, within_any

BUCKET = "data-bkt"


def loc(uri: str) -> S3Location:
    return S3Location.parse(uri)


# --- parse -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "bucket", "key"),
    [
        ("s3://data-bkt/team-a/in/", "data-bkt", "team-a/in/"),
        ("s3://data-bkt/team-a/in", "data-bkt", "team-a/in"),
        ("s3://data-bkt/", "data-bkt", ""),
        ("s3://data-bkt", "data-bkt", ""),
        ("s3://my.bucket-1/a..b/c.csv", "my.bucket-1", "a..b/c.csv"),
        ("s3://abc/x", "abc", "x"),
        ("s3://" + "b" * 63 + "/x", "b" * 63, "x"),
    ],
)
def test_plain_s3_uri_parses_into_bucket_and_key(uri: str, bucket: str, key: str) -> None:
    assert S3Location.parse(uri) == S3Location(bucket, key)


@pytest.mark.parametrize(
    "uri",
    [
        "https://data-bkt/x",
        "S3://data-bkt/x",
        "data-bkt/x",
        "s3:/data-bkt/x",
        "s3:///x",
        "",
        "s3://",
    ],
)
def test_non_s3_uri_is_refused_saying_how_to_write_one(uri: str) -> None:
    with pytest.raises(ValueError, match=r"is not an S3 URI; write it as s3://bucket/prefix"):
        S3Location.parse(uri)


@pytest.mark.parametrize(
    "bucket", ["ab", "b" * 64, "Data-Bkt", "data_bkt", "-data", "data-", ".data", "data bkt"]
)
def test_invalid_bucket_name_is_refused_naming_it(bucket: str) -> None:
    with pytest.raises(ValueError, match=rf"^'{bucket}' is not a valid S3 bucket name"):
        S3Location.parse(f"s3://{bucket}/key")


@pytest.mark.parametrize(
    "key", ["..", "../team-b/", "team-a/../team-b/", "team-a/..", "team-a\\x", "a/../../b"]
)
def test_dot_dot_segment_or_backslash_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match=r"contains '\.\.' or a backslash"):
        S3Location.parse(f"s3://{BUCKET}/{key}")


@pytest.mark.parametrize(
    "uri",
    [
        # Python's `$` matches before a final newline: the parsed key must not silently lose it,
        # or s3://b/team-a<LF> is checked as the folder team-a/ while SageMaker writes elsewhere.
        "s3://data-bkt/team-a\n",
        "s3://data-bkt/team-a/in/\n",
        "s3://data-bkt\n/team-a/",
    ],
)
def test_uri_ending_in_a_newline_is_refused_not_truncated(uri: str) -> None:
    with pytest.raises(ValueError, match=r"s3://|not a valid S3 bucket name"):
        S3Location.parse(uri)


def test_output_path_ending_in_a_newline_is_not_taken_for_the_granted_folder() -> None:
    # SageMaker would write under the key prefix 'team-a\n/', a sibling of the grant 'team-a/'.
    try:
        output = S3Location.parse("s3://data-bkt/team-a\n")
    except ValueError:
        return
    assert not output.within(loc("s3://data-bkt/team-a/"), folder=True)


@settings(max_examples=examples(200), deadline=None)
@given(key=st.text(alphabet="ab/.-\n\\", max_size=12))
def test_parse_keeps_the_whole_key_or_refuses(key: str) -> None:
    uri = f"s3://{BUCKET}/{key}"
    try:
        parsed = S3Location.parse(uri)
    except ValueError:
        return
    assert parsed.uri == uri


def test_uri_child_and_reach() -> None:
    assert loc("s3://data-bkt/a/b").uri == "s3://data-bkt/a/b"
    assert loc("s3://data-bkt/out").child("x.csv") == S3Location(BUCKET, "out/x.csv")
    assert loc("s3://data-bkt/out/").child("x.csv") == S3Location(BUCKET, "out/x.csv")
    assert loc("s3://data-bkt/").child("x.csv") == S3Location(BUCKET, "x.csv")
    assert loc("s3://data-bkt/in").reach(folder=False) == "in"
    assert loc("s3://data-bkt/in").reach(folder=True) == "in/"
    assert loc("s3://data-bkt/in/").reach(folder=True) == "in/"
    assert loc("s3://data-bkt/").reach(folder=True) == ""


# --- within ------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", [False, True])
@pytest.mark.parametrize(
    "location",
    ["s3://data-bkt/team-a/", "s3://data-bkt/team-a/x.csv", "s3://data-bkt/team-a/in/deep/"],
)
def test_location_under_the_grant_folder_is_within_it(location: str, folder: bool) -> None:
    assert loc(location).within(loc("s3://data-bkt/team-a/"), folder=folder)
    assert loc(location).within(loc("s3://data-bkt/team-a"), folder=folder)


@pytest.mark.parametrize("folder", [False, True])
@pytest.mark.parametrize(
    "location",
    [
        "s3://data-bkt/team-ab/x.csv",
        "s3://data-bkt/team-ab/",
        "s3://data-bkt/team-ab",
        "s3://data-bkt/team-a.csv",
        "s3://data-bkt/team",
        "s3://data-bkt/",
        "s3://other-bkt/team-a/x.csv",
    ],
)
def test_sibling_with_a_shared_prefix_or_other_bucket_is_never_within(
    location: str, folder: bool
) -> None:
    assert not loc(location).within(loc("s3://data-bkt/team-a/"), folder=folder)
    assert not loc(location).within(loc("s3://data-bkt/team-a"), folder=folder)


def test_raw_prefix_without_slash_is_not_within_its_own_folder_grant() -> None:
    # As an S3Prefix input, s3://b/team-a also reads s3://b/team-ab/...
    assert not loc("s3://data-bkt/team-a").within(loc("s3://data-bkt/team-a/"), folder=False)


def test_output_folder_without_slash_is_within_its_own_folder_grant() -> None:
    # As an output path, s3://b/team-a means the folder team-a/.
    assert loc("s3://data-bkt/team-a").within(loc("s3://data-bkt/team-a/"), folder=True)


def test_raw_prefix_inside_the_grant_is_within_even_without_slash() -> None:
    assert loc("s3://data-bkt/team-a/in").within(loc("s3://data-bkt/team-a/"), folder=False)


def test_whole_bucket_grant_covers_every_key_of_that_bucket_only() -> None:
    for grant in ("s3://data-bkt/", "s3://data-bkt"):
        assert loc("s3://data-bkt/").within(loc(grant), folder=False)
        assert loc("s3://data-bkt/anything").within(loc(grant), folder=False)
        assert not loc("s3://other-bkt/anything").within(loc(grant), folder=True)


def test_within_any_checks_every_grant() -> None:
    grants = ["s3://data-bkt/team-a/", "s3://other-bkt/shared/"]

    assert within_any(loc("s3://other-bkt/shared/x"), grants, folder=False)
    assert within_any(loc("s3://data-bkt/team-a/x"), grants, folder=False)
    assert not within_any(loc("s3://data-bkt/team-ab/x"), grants, folder=False)
    assert not within_any(loc("s3://data-bkt/team-a/x"), [], folder=True)


SEGMENTS = st.lists(st.sampled_from(["a", "b", "ab", "a-", "ba", "a.b"]), max_size=4)


def _key(segments: list[str], trailing_slash: bool) -> str:
    key = "/".join(segments)
    return key + "/" if key and trailing_slash else key


def _covers_as_folder(grant: list[str], location: list[str]) -> bool:
    """Direct definition: a folder lies under a granted folder iff its path starts with the
    grant's path, segment by segment."""
    return location[: len(grant)] == grant


def _covers_as_raw_prefix(grant: list[str], location: list[str], trailing_slash: bool) -> bool:
    """A raw prefix also reaches keys that extend its last segment, so its last segment must
    lie strictly inside the grant (or be a complete folder, ending with '/')."""
    if not grant:
        return True
    if len(location) > len(grant):
        return location[: len(grant)] == grant
    return location == grant and trailing_slash


@settings(max_examples=examples(200), deadline=None)
@given(
    grant=SEGMENTS,
    grant_slash=st.booleans(),
    location=SEGMENTS,
    location_slash=st.booleans(),
    same_bucket=st.booleans(),
)
def test_within_as_folder_agrees_with_segment_prefix_definition(
    grant: list[str],
    grant_slash: bool,
    location: list[str],
    location_slash: bool,
    same_bucket: bool,
) -> None:
    granted = S3Location(BUCKET, _key(grant, grant_slash))
    asked = S3Location(BUCKET if same_bucket else "other-bkt", _key(location, location_slash))

    assert asked.within(granted, folder=True) == (
        same_bucket and _covers_as_folder(grant, location)
    )


@settings(max_examples=examples(200), deadline=None)
@given(
    grant=SEGMENTS,
    grant_slash=st.booleans(),
    location=SEGMENTS,
    location_slash=st.booleans(),
)
def test_within_as_raw_prefix_agrees_with_segment_definition(
    grant: list[str], grant_slash: bool, location: list[str], location_slash: bool
) -> None:
    granted = S3Location(BUCKET, _key(grant, grant_slash))
    asked = S3Location(BUCKET, _key(location, location_slash))

    expected = _covers_as_raw_prefix(grant, location, location_slash and bool(location))
    assert asked.within(granted, folder=False) == expected


# --- overlap -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        ("s3://data-bkt/x/", "s3://data-bkt/x/out/"),  # output nested in input
        ("s3://data-bkt/x/in/", "s3://data-bkt/x/"),  # input nested in output
        ("s3://data-bkt/x/in/", "s3://data-bkt/x/in/"),  # the same folder
        ("s3://data-bkt/x/in/", "s3://data-bkt/x/in"),  # output without slash is that folder
        ("s3://data-bkt/x/in", "s3://data-bkt/x/in-out/"),  # raw input reaches the sibling
        ("s3://data-bkt/x/in", "s3://data-bkt/x/in"),
        ("s3://data-bkt/", "s3://data-bkt/anything/"),  # whole bucket
    ],
)
def test_nested_or_prefix_sharing_locations_overlap(input_uri: str, output_uri: str) -> None:
    assert overlap(loc(input_uri), loc(output_uri))


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        ("s3://data-bkt/x/in/", "s3://data-bkt/x/out/"),
        ("s3://data-bkt/x/in/", "s3://data-bkt/x/in-out/"),  # a folder does not reach siblings
        ("s3://data-bkt/x/in-data/", "s3://data-bkt/x/in"),  # output folder in/ is apart
        ("s3://data-bkt/x/in", "s3://data-bkt/x/out"),
        ("s3://data-bkt/x/in/", "s3://other-bkt/x/in/"),  # different buckets
        ("s3://data-bkt/", "s3://other-bkt/"),
    ],
)
def test_separate_locations_do_not_overlap(input_uri: str, output_uri: str) -> None:
    assert not overlap(loc(input_uri), loc(output_uri))
